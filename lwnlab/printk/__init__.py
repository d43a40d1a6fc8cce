"""Lab 2: printk indexing (CONFIG_PRINTK_INDEX) built from real kernel sources.

``sources`` fetches Debian's linux-source-6.1/6.12; ``lexer`` (numba) tokenizes C;
``extract`` + ``kbuild`` find printk-family calls and resolve their formats (levels,
pr_fmt/dev_fmt, KBUILD_MODNAME); ``index`` prints them exactly as kernel/printk/index.c
does; ``fmt`` + ``match`` map log lines back to formats; ``audit`` checks monitoring
rules; ``diff`` compares versions; ``widgets``/``exercises`` serve the notebook.
"""
