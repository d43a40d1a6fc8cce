/* SPDX-License-Identifier: MIT */
/* Written for lwnlab: string macros a format may be built from. */
#define FW_NAME "firewatch"
#define FW_HOT_TEMP 90
#define FW_CRIT_TEMP 105
