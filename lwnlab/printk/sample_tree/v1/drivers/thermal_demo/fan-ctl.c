// SPDX-License-Identifier: MIT
/* Written for lwnlab: a plain single-object module (fan-ctl.o -> KBUILD_MODNAME fan_ctl). */
#define pr_fmt(fmt) KBUILD_MODNAME ": %s: " fmt, __func__
#include <linux/printk.h>

int fan_set_speed(int rpm)
{
	if (rpm < 0) {
		pr_err("invalid speed %d rpm\n", rpm);
		return -EINVAL;
	}
	pr_notice("fan at %5d rpm (%3u%%)\n", rpm, rpm / 60);
	return 0;
}
