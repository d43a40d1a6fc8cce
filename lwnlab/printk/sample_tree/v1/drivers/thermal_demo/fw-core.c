// SPDX-License-Identifier: MIT
/*
 * firewatch: a made-up thermal watchdog for the lwnlab printk-index lab.
 * Written for lwnlab as teaching material; it is not kernel code.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#define dev_fmt(fmt) "zone " fmt

#include <linux/printk.h>
#include <linux/device.h>
#include "firewatch.h"

#define fw_err(dev, fmt, ...) dev_err(dev, "[" FW_NAME "] " fmt, ##__VA_ARGS__)

static int firewatch_check(struct device *dev, int cpu, int temp)
{
	if (temp > FW_CRIT_TEMP) {
		pr_emerg("CPU%d on fire: %d C\n", cpu, temp);
		return -EIO;
	}
	if (temp > FW_HOT_TEMP)
		dev_warn(dev, "CPU%d running hot (%d C)\n", cpu, temp);
	else
		dev_info(dev, "CPU%d ok\n", cpu);
	return 0;
}

static void firewatch_report(int n, const int *t)
{
	int i;

	pr_info("temperatures:");
	for (i = 0; i < n; i++)
		pr_cont(" %d", t[i]);
	pr_cont("\n");
	printk("no level given\n");
	printk(KERN_CONT KERN_ERR "continued at error level\n");
	printk(KERN_DEFAULT "default level\n");
}

static int firewatch_probe(struct device *dev)
{
	dev_printk(KERN_NOTICE, dev, "probing " FW_NAME " v%d.%d\n", 1, 2);
	fw_err(dev, "sensor %s missing\n", "tz0");
	dev_err_probe(dev, -ENODEV, "no sensors\n");
	pr_debug("probe done\n");
	pr_warn("quote \" backslash \\ tab \t bell \a esc \e del \177 caf\xc3\xa9\n");
	return 0;
}
