// SPDX-License-Identifier: MIT
/* Written for lwnlab. No pr_fmt here: the default (identity) applies. */
#include <linux/printk.h>
#include <linux/netdevice.h>

#define SENSOR_FMT "sensor %u: "

static const char *name = "variable";

void fw_sensor_read(struct net_device *nd, unsigned int id, unsigned long raw)
{
	pr_err(SENSOR_FMT "read failed, raw=%#lx\n", id, raw);
	pr_err_ratelimited("sensor %u: stuck at %lu mC\n", id, raw);
	netdev_warn(nd, "link to sensor hub lost\n");
	printk(name);
	WARN(raw == 0, "sensor %u returned zero\n", id);
	pr_info_once("MAC %pM at %pI4, uuid %pUb\n", nd, nd, nd);
}
