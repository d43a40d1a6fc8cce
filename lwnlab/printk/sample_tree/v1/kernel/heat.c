// SPDX-License-Identifier: MIT
/* Written for lwnlab: built-in code (obj-y), KBUILD_MODNAME is the basename. */
#include <linux/printk.h>

void heat_panic(unsigned long addr, void *sym)
{
	pr_crit("thermal shutdown at %px (%pS)\n", (void *)addr, sym);
	pr_alert("Oops: %s: %04lx [#%d]%s%s\n", "thermal", addr, 1, " PREEMPT", " SMP");
}
