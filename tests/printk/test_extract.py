"""Call-site extraction: the kernel's level semantics, pr_fmt/dev_fmt and KBUILD_MODNAME, on trees written here."""

import pytest

from lwnlab.printk.extract import Extractor, decode_c_string
from lwnlab.printk.index import build_index


def entries(root, *subdirs):
    ix = build_index(root, subdirs, progress=False)
    return {e.debugfs_line().split(" ", 2)[2] if False else e.file + ":" + str(e.line): e for e in ix}, ix


def lines_of(ix):
    return [e.debugfs_line() for e in ix]


def test_every_level_form(tree):
    root = tree({"Makefile": "obj-y += a.o\n", "a.c": r'''
void f(void)
{
	printk(KERN_EMERG "emerg\n");
	printk(KERN_ERR "err\n");
	printk("none\n");
	printk(KERN_DEFAULT "default\n");
	printk(KERN_CONT "cont\n");
	printk(KERN_CONT KERN_WARNING "cont warn\n");
	printk(KERN_INFO KERN_ERR "first level wins\n");
	pr_cont("more");
	pr_info("info\n");
	pr_warn_ratelimited("rl\n");
	pr_err_once("once\n");
	printk_deferred(KERN_NOTICE "deferred\n");
	dev_err(dev, "dev err %d\n", 1);
	dev_printk(KERN_DEBUG, dev, "dev printk debug\n");
	dev_info_once(dev, "dev once\n");
}
'''})
    got = lines_of(build_index(root, progress=False))
    assert got == [
        '<0> a.c:4 f "emerg\\n"',
        '<3> a.c:5 f "err\\n"',
        '<-1> a.c:6 f "none\\n"',
        '<-1> a.c:7 f "default\\n"',
        '<c> a.c:8 f "cont\\n"',
        '<4,c> a.c:9 f "cont warn\\n"',
        '<6> a.c:10 f "first level wins\\n"',
        '<c> a.c:11 f "more"',
        '<6> a.c:12 f "info\\n"',
        '<4> a.c:13 f "rl\\n"',
        '<3> a.c:14 f "once\\n"',
        '<5> a.c:15 f "deferred\\n"',
        '<3> a.c:16 f "%s %s: dev err %d\\n"',
        '<7> a.c:17 f "%s %s: dev printk debug\\n"',
        '<6> a.c:18 f "%s %s: dev once\\n"',
    ]


def test_pr_fmt_forms_and_kbuild_modname(tree):
    root = tree({
        "drivers/foo/Makefile": "obj-$(CONFIG_FOO) += foo-drv.o\nfoo-drv-y := core.o \\\n\thelper.o\nobj-m += solo-mod.o\n",
        "drivers/foo/core.c": '#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt\n#include <linux/printk.h>\n'
                              'void a(void) { pr_err("x\\n"); }\n',
        "drivers/foo/helper.c": '#define pr_fmt(fmt) "%s: " fmt, __func__\nvoid b(void) { pr_info("y\\n"); }\n',
        "drivers/foo/solo-mod.c": '#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt\nvoid c(void) { pr_warn("z\\n"); }\n'
                                  '#undef pr_fmt\nvoid d(void) { pr_warn("after undef\\n"); }\n'
                                  '#define pr_fmt(fmt) "again: " fmt\nvoid e(void) { pr_warn("redefined\\n"); pr_cont("c"); }\n',
    })
    ix = build_index(root, progress=False)
    by = {e.func: e for e in ix}
    assert by["a"].text == "foo_drv: x\n" and by["a"].module == "foo_drv"  # composite: the module's name, '-' -> '_'
    assert by["b"].text == "%s: y\n" and by["b"].module == "foo_drv"      # __func__ is a run-time %s
    assert by["c"].text == "solo_mod: z\n"
    assert by["d"].text == "after undef\n"
    e_entries = [e for e in ix if e.func == "e"]
    assert e_entries[0].text == "again: redefined\n"
    assert e_entries[1].text == "c"  # pr_cont does not use pr_fmt
    st = ix.stats
    assert st["pr_fmt_defines"] == 4


def test_dev_fmt_and_macros_from_local_headers(tree):
    root = tree({
        "d/Makefile": "obj-y += x.o\n",
        "d/local.h": '#define DRV_NAME "mydrv"\n#define PFX DRV_NAME ": "\n#include "deeper.h"\n',
        "d/deeper.h": '#define DEEP "deep"\n',
        "d/x.c": '#define dev_fmt(fmt) "devfmt " fmt\n#define pr_fmt(fmt) PFX fmt\n#include "local.h"\n'
                 'static const char *var = "v";\n'
                 'int g(void) {\n\tpr_info("a " DEEP "\\n");\n\tdev_warn(d, "b\\n");\n'
                 '\tdev_printk(KERN_ERR, d, "c\\n");\n\tpr_err(var);\n\tpr_err(UNKNOWN_MACRO "x");\n'
                 '\tprintk(KERN_INFO cond ? "p" : "q");\n}\n',
    })
    ix = build_index(root, progress=False)
    txt = [e.text for e in ix]
    assert txt == ["mydrv: a deep\n", "%s %s: devfmt b\n", "%s %s: c\n"]  # dev_printk applies no dev_fmt
    assert ix.stats["unresolved"] == 3 and ix.stats["calls"] == 6


def test_dev_fmt_alias_of_pr_fmt(tree):
    root = tree({"p.c": '#define pr_fmt(fmt) "PCI: " fmt\n#define dev_fmt pr_fmt\nvoid f(void) { dev_info(d, "hi\\n"); }\n'})
    (e,) = list(build_index(root, progress=False))
    assert e.text == "%s %s: PCI: hi\n"


def test_not_indexed_families_are_kept_and_flagged(tree):
    root = tree({"n.c": r'''
void f(void)
{
	netdev_err(nd, "netdev\n");
	netif_info(p, probe, nd, "netif\n");
	dev_err_probe(dev, ret, "probe\n");
	WARN(1, "warn %d\n", 2);
	WARN_ONCE(x, "warn once\n");
	pr_debug("debug\n");
	dev_dbg(dev, "ddebug\n");
	pr_devel("devel\n");
	pr_err("indexed\n");
}
'''})
    ix = build_index(root, progress=False)
    flags = {e.text.strip(): (e.in_kernel_index, e.reason) for e in ix}
    for k in ("%s %s %s%s: netdev", "%s %s %s%s: netif", "%s %s: error %pe: probe", "warn %d", "warn once",
              "debug", "%s %s: ddebug", "devel"):
        assert flags[k][0] is False and flags[k][1], k
    assert flags["indexed"] == (True, "")
    assert len(ix.kernel_only()) == 1
    assert ix.to_text(only_kernel_index=True).splitlines()[1:] == ['<3> n.c:12 f "indexed\\n"']


def test_debug_defined_indexes_pr_devel(tree):
    root = tree({"d.c": '#define DEBUG\nvoid f(void) { pr_devel("devel\\n"); pr_debug_once("o\\n"); pr_debug("dyn\\n"); }\n'})
    got = {e.text.strip(): e.in_kernel_index for e in build_index(root, progress=False)}
    assert got == {"devel": True, "o": True, "dyn": False}


def test_wrappers_and_local_wrapper_macros(tree):
    root = tree({"w.c": r'''
#define my_err(priv, fmt, ...) dev_err((priv)->dev, "[my] " fmt, ##__VA_ARGS__)
#define my_log(lvl, fmt, args...) dev_printk(lvl, d, "log: " fmt, ##args)
void f(void)
{
	pci_err(pdev, "pci %d\n", 1);
	drm_err(drm, "drm\n");
	ata_dev_warn(adev, "ata\n");
	ata_link_err(link, "link\n");
	xfs_alert(mp, "xfs\n");
	fat_msg(sb, KERN_ERR, "fat\n");
	my_err(p, "local %s\n", "x");
	my_log(KERN_NOTICE, "lvl\n");
	/* pr_err("in a comment\n"); */
	puts("pr_err(\"in a string\")");
}
'''})
    got = [e.debugfs_line().split(" ", 3)[3] for e in build_index(root, progress=False)]
    assert got == ['"%s %s: pci %d\\n"', '"%s %s: [drm] *ERROR* drm\\n"', '"ata%u.%02u: ata\\n"',
                   '"ata%u.%02u: link\\n"', '"ata%u: link\\n"', '"%sXFS%s: xfs\\n"', '"%sFAT-fs (%s): fat\\n"',
                   '"%s %s: [my] local %s\\n"', '"%s %s: log: lvl\\n"']


def test_function_names(tree):
    root = tree({"s.c": 'SYSCALL_DEFINE2(open, int, a, int, b)\n{\n\tpr_err("x\\n");\n}\n'
                        'static void __init __attribute__((cold)) setup(void)\n{\n\tpr_err("y\\n");\n}\n'})
    assert [e.func for e in build_index(root, progress=False)] == ["__do_sys_open", "setup"]


@pytest.mark.parametrize("lit,val", [
    (b'"a\\nb"', b"a\nb"), (b'"\\101\\x41\\e"', b"AA\x1b"), (b'"\\0"', b"\0"), (b'"q\\"q"', b'q"q'),
    (b'"\\u00e9"', "é".encode()), (b'L"w"', None), (b'"\\777"', b"\xff"),
])
def test_decode_c_string(lit, val):
    assert decode_c_string(lit) == val


def test_extractor_reports_lexer_skips(tree):
    root = tree({"bad.c": b'void f(void) { pr_err("ok\\n"); }\n\xff\x00 "unterminated\n'})
    r = Extractor(root).extract_file(root / "bad.c", "bad.c")
    assert len(r.calls) == 1
    assert set(r.skipped) == {"NUL byte", "byte outside the C character set", "unterminated string literal"}


def test_builtin_macros_in_formats(tree):
    root = tree({"Makefile": "obj-y += my-file.o\n", "inc.h": "#define MYIOC_s_ERR_FMT KERN_ERR MYNAM \": %s: \"\n",
                 "my-file.c": '#include "inc.h"\n#define MYNAM "mpt"\n#define VER 3\n'
                              'void f(void) {\n\tprintk(MYIOC_s_ERR_FMT "x\\n", n);\n'
                              '\tpr_info(KBUILD_BASENAME " " __FILE__ " v" __stringify(VER) "\\n");\n}\n'})
    got = [e.debugfs_line() for e in build_index(root, progress=False)]
    assert got == ['<3> my-file.c:5 f "mpt: %s: x\\n"', '<6> my-file.c:6 f "my_file my-file.c v3\\n"']


def test_if0_blocks_are_not_compiled(tree):
    root = tree({"z.c": 'void f(void)\n{\n#if 0\n\tpr_err("dead\\n");\n#else\n\tpr_err("alive\\n");\n#endif\n'
                        '#if 0 /* old */\n#ifdef X\n\tpr_err("dead2\\n");\n#endif\n#endif\n#ifdef Y\n\tpr_err("maybe\\n");\n#endif\n}\n'})
    r = Extractor(root).extract_file(root / "z.c", "z.c")
    assert [c.fmt for c in r.calls] == [b"\x013alive\n", b"\x013maybe\n"] and r.skipped_if0 == 2


def test_if1_else_branches_are_dead(tree):
    root = tree({"z.c": 'void f(void)\n{\n#if 1\n\tpr_err("on\\n");\n#elif X\n\tpr_err("dead\\n");\n#else\n'
                        '\tpr_err("dead too\\n");\n#endif\n}\n'})
    r = Extractor(root).extract_file(root / "z.c", "z.c")
    assert [c.fmt for c in r.calls] == [b"\x013on\n"] and r.skipped_if0 == 2


def test_wrappers_defined_in_a_drivers_own_header(tree):
    root = tree({
        "drivers/net/foo/Makefile": "obj-m += foo.o\nfoo-y := foo_main.o\n",
        "drivers/net/foo/foo.h": '#include "foo_hw.h"\n'
                                 '#define foo_err(priv, fmt, ...) dev_err((priv)->dev, "foo: " fmt, ##__VA_ARGS__)\n'
                                 '#define foo_dbg(priv, fmt, ...) dev_dbg((priv)->dev, fmt, ##__VA_ARGS__)\n',
        # a wrapper of a wrapper, in a header the first one includes
        "drivers/net/foo/foo_hw.h": '#define hw_warn(hw, fmt, args...) dev_warn(hw->dev, KBUILD_MODNAME ": " fmt, ##args)\n',
        "drivers/net/foo/foo_main.c": '#include <linux/module.h>\n#include "foo.h"\n'
                                      '#define my_err(p, fmt, ...) foo_err(p, "[%d] " fmt, p->id, ##__VA_ARGS__)\n'
                                      'static int probe(struct foo *p)\n{\n\tfoo_err(p, "no memory\\n");\n'
                                      '\tfoo_dbg(p, "probing\\n");\n\thw_warn(p->hw, "reset\\n");\n'
                                      '\tmy_err(p, "bad\\n");\n\treturn 0;\n}\n'})
    got = {c.macro: c for c in Extractor(root).extract_file(root / "drivers/net/foo/foo_main.c",
                                                             "drivers/net/foo/foo_main.c").calls}
    assert got["foo_err"].fmt == b"foo: no memory\n" and got["foo_err"].level == b"\x013"
    assert got["foo_err"].subsys_prefix == b"%s %s: " and got["foo_err"].in_kernel_index
    assert not got["foo_dbg"].in_kernel_index  # dev_dbg under CONFIG_DYNAMIC_DEBUG
    assert got["hw_warn"].fmt == b"foo: reset\n"  # KBUILD_MODNAME of the calling file's module
    assert got["my_err"].fmt == b"foo: [%d] bad\n"  # the inner wrapper's text comes first
    assert Extractor(root, header_wrappers=False).extract_file(
        root / "drivers/net/foo/foo_main.c", "drivers/net/foo/foo_main.c").calls == []


def test_wrappers_from_include_need_the_include(tree):
    root = tree({"include/linux/hid.h": "#define hid_err(hid, fmt, ...) dev_err(&(hid)->dev, fmt, ##__VA_ARGS__)\n",
                 "a.c": "#include <linux/hid.h>\nvoid f(void)\n{\n\thid_err(h, \"oops\\n\");\n}\n",
                 "b.c": "void g(void)\n{\n\thid_err(h, \"not the macro\\n\");\n}\n",
                 "c.c": "#include <linux/hid.h>\n#define hid_err(h, fmt) pr_warn(fmt)\nvoid k(void)\n{\n\thid_err(h, \"mine\\n\");\n}\n"})
    ex = Extractor(root)
    (a,) = ex.extract_file(root / "a.c", "a.c").calls
    assert (a.macro, a.fmt, a.level, a.kind) == ("hid_err", b"oops\n", b"\x013", "header:dev_err")
    assert ex.extract_file(root / "b.c", "b.c").calls == []
    (c,) = ex.extract_file(root / "c.c", "c.c").calls  # the file's own definition wins
    assert (c.fmt, c.kind) == (b"\x014mine\n", "local:pr_warn")


def _btrfs_tree(tree, version):
    emit = ('#define printk_index_subsys_emit(subsys_fmt_prefix, level, fmt, ...) \\\n'
            '\t__printk_index_emit(fmt, level, subsys_fmt_prefix)\n')
    if version == "6.1":  # fs/btrfs/ctree.h: the emit is in the macro
        hdr = ('#ifdef CONFIG_PRINTK_INDEX\n#define btrfs_printk(fs_info, fmt, args...)\t\\\n'
               'do {\t\\\n\tprintk_index_subsys_emit("%sBTRFS %s (device %s): ", NULL, fmt);\t\\\n'
               '\t_btrfs_printk(fs_info, fmt, ##args);\t\\\n} while (0)\n'
               '#elif defined(CONFIG_PRINTK)\n#define btrfs_printk(fs_info, fmt, args...) _btrfs_printk(fs_info, fmt, ##args)\n'
               '#endif\n')
        name = "ctree.h"
    else:  # 6.12, fs/btrfs/messages.h: an out-of-line function emits with a non-constant fmt
        hdr = '#define btrfs_printk(fs_info, fmt, args...) _btrfs_printk(fs_info, fmt, ##args)\n'
        name = "messages.h"
    hdr += ('#define btrfs_err(fs_info, fmt, args...) btrfs_printk(fs_info, KERN_ERR fmt, ##args)\n'
            '#define btrfs_printk_ratelimited(fs_info, fmt, args...)\t\\\n'
            'do { if (__ratelimit(&_rs)) btrfs_printk(fs_info, fmt, ##args); } while (0)\n'
            '#define btrfs_warn_rl(fs_info, fmt, args...) btrfs_printk_ratelimited(fs_info, KERN_WARNING fmt, ##args)\n'
            '#define btrfs_debug(fs_info, fmt, args...)\t\\\n'
            '\t_dynamic_func_call_no_desc(fmt, btrfs_printk, fs_info, KERN_DEBUG fmt, ##args)\n')
    return tree({"include/linux/printk.h": emit, f"fs/btrfs/{name}": hdr,
                 "fs/btrfs/super.c": f'#include <linux/printk.h>\n#include "{name}"\n'
                                     'void f(struct btrfs_fs_info *fs)\n{\n\tbtrfs_err(fs, "bad tree %d", 1);\n'
                                     '\tbtrfs_warn_rl(fs, "slow");\n\tbtrfs_debug(fs, "hello");\n}\n'})


def test_btrfs_wrappers_6_1_and_6_12(tree):
    root = _btrfs_tree(tree, "6.1")
    ix = build_index(root, progress=False)
    assert [e.debugfs_line() for e in ix] == [
        '<3> fs/btrfs/super.c:5 f "%sBTRFS %s (device %s): bad tree %d"',
        '<4> fs/btrfs/super.c:6 f "%sBTRFS %s (device %s): slow"',
        '<7> fs/btrfs/super.c:7 f "%sBTRFS %s (device %s): hello"']  # dynamic debug calls the macro
    assert all(e.in_kernel_index and e.level is None for e in ix)
    import shutil

    shutil.rmtree(root)
    root.mkdir()
    assert list(build_index(_btrfs_tree(tree, "6.12"), progress=False)) == []  # _btrfs_printk() is a function


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lwnlab.printk.index import escape  # noqa: E402

from .conftest import EXAMPLES  # noqa: E402


def _c_literal(data: bytes) -> str:
    """A C string literal for ``data`` (octal escapes for everything but plain printable ASCII)."""
    out = []
    for c in data:
        if c in (34, 92):
            out.append("\\" + chr(c))
        elif 32 <= c < 127 and c != 63:
            out.append(chr(c))
        else:
            out.append("\\%03o" % c)
    return '"' + "".join(out) + '"'


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=12).filter(lambda b: b"\0" not in b), min_size=1, max_size=4),
       st.sampled_from(["pr_err", "pr_info", "printk", "dev_warn", "pr_cont"]))
def test_extracted_format_round_trips(tmp_path_factory, pieces, macro):
    """Split a random format into adjacent literals (with escapes, comments and line breaks between them);
    the extractor must give back exactly the bytes, and the debugfs line their kernel escaping."""
    root = tmp_path_factory.mktemp("rt")
    lits = " /* c */ \\\n\t".join(_c_literal(p) for p in pieces)
    args = f"dev, {lits}" if macro == "dev_warn" else lits
    (root / "r.c").write_text(f"void f(void)\n{{\n\t{macro}({args}, x);\n}}\n", encoding="latin-1")
    (e,) = list(build_index(root, progress=False))
    want = b"".join(pieces)
    lvl = {"pr_err": b"\x013", "pr_info": b"\x016", "printk": b"", "dev_warn": b"", "pr_cont": b"\x01c"}[macro]
    assert e.fmt == lvl + want
    assert e.debugfs_line().endswith('"' + escape(e.body) + '"')
    assert e.line == 3 and e.func == "f"


def test_kbuild_modname_list_variable_is_not_a_composite(tree):
    """mm/Makefile: ``mmu-y := ... mmap.o`` is a variable expanded into obj-y, not a composite (no
    ``obj-* += mmu.o``), so mmap.c is built as "mmap" (the kernel's .mmap.o.cmd has -DKBUILD_MODNAME="mmap")."""
    from lwnlab.printk import kbuild

    root = tree({
        "mm/Makefile": "mmu-y := nommu.o\nmmu-$(CONFIG_MMU) := highmem.o \\\n\tmmap.o\nobj-y := filemap.o $(mmu-y)\n"
                       "obj-$(CONFIG_KSM) += ksm-drv.o\nksm-drv-y := ksm.o\n",
        "mm/mmap.c": '#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt\nvoid f(void) { pr_err("x\\n"); }\n',
        "mm/ksm.c": '#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt\nvoid g(void) { pr_err("y\\n"); }\n',
    })
    kbuild._parse_makefile.cache_clear()
    assert kbuild.modname_for(root, "mm/mmap.c") == "mmap"
    assert kbuild.modname_for(root, "mm/ksm.c") == "ksm_drv"  # a real composite still is one
    by = {e.func: e for e in build_index(root, progress=False)}
    assert by["f"].text == "mmap: x\n" and by["f"].module == "mmap"
    assert by["g"].text == "ksm_drv: y\n"


def test_net_ratelimited_wrappers(tree):
    """include/linux/net.h: net_<level>_ratelimited(fmt, ...) is net_ratelimited_function(pr_<level>, fmt, ...),
    so the kernel indexes it as pr_<level> (pr_fmt applied); net_dbg_ratelimited is dynamic debug's.
    (gcc -E of net/ipv4/route.c with CONFIG_PRINTK_INDEX=y shows the pr_warn entry of each call.)"""
    root = tree({
        "net/ipv4/Makefile": "obj-y += route.o\n",
        "net/ipv4/route.c": '#define pr_fmt(fmt) "IPv4: " fmt\n'
                            'void f(void) { net_warn_ratelimited("martian destination %pI4 from %pI4, dev %s\\n", a, b, c);\n'
                            ' net_crit_ratelimited("Bug in ip_route_input_slow(). Please report.\\n");\n'
                            ' net_dbg_ratelimited("debug %d\\n", 1); }\n',
    })
    lines = [e.debugfs_line() for e in build_index(root, progress=False) if e.in_kernel_index]
    assert lines == ['<4> net/ipv4/route.c:2 f "IPv4: martian destination %pI4 from %pI4, dev %s\\n"',
                     '<2> net/ipv4/route.c:3 f "IPv4: Bug in ip_route_input_slow(). Please report.\\n"']
    dbg = [e for e in build_index(root, progress=False) if e.macro == "net_dbg_ratelimited"]
    assert len(dbg) == 1 and not dbg[0].in_kernel_index and dbg[0].text == "IPv4: debug %d\n"


def test_fixed_format_wrapper_macros(tree):
    """A macro whose body prints a fixed format (ext4's ASSERT() in fs/ext4/ext4.h, percpu's
    PCPU_SETUP_BUG_ON() with two pr_emerg) makes an entry at every use, as the kernel's .printk_index
    of a CONFIG_PRINTK_INDEX=y build shows; include/'s generic BUG() (x86 and arm64 have HAVE_ARCH_BUG)
    does not; a macro that also passes a parameter as a format stays a parameter wrapper."""
    root = tree({
        "include/asm-generic/bug.h": '#define BUG() do { printk("BUG: failure at %s:%d/%s()!\\n", __FILE__, __LINE__, '
                                     '__func__); } while (0)\n',
        "fs/ext4/ext4.h": '#define ASSERT(assert) do { if (!(assert)) { printk(KERN_EMERG \\\n'
                          '  "Assertion failure in %s() at %s:%d: \'%s\'\\n", __func__, __FILE__, __LINE__, #assert); \\\n'
                          '  BUG(); } } while (0)\n'
                          '#define ext4_debug(f, a...) do { printk(KERN_DEBUG "EXT4-fs DEBUG (%s, %d): %s:", \\\n'
                          '  __FILE__, __LINE__, __func__); printk(KERN_DEBUG f, ## a); } while (0)\n',
        "fs/ext4/inode.c": '#include <asm-generic/bug.h>\n#include "ext4.h"\n'
                           'int ext4_getblk(void) {\n\tASSERT(x > 0);\n\text4_debug("blk %d\\n", 1);\n\tBUG();\n}\n',
        "mm/percpu.c": '#define pr_fmt(fmt) "percpu: " fmt\n'
                       '#define PCPU_SETUP_BUG_ON(cond) do { if (unlikely(cond)) { \\\n'
                       '  pr_emerg("failed to initialize, %s\\n", #cond); \\\n'
                       '  pr_emerg("cpu_possible_mask=%*pb\\n", cpumask_pr_args(cpu_possible_mask)); } } while (0)\n'
                       'void pcpu_setup_first_chunk(void)\n{\n\tPCPU_SETUP_BUG_ON(ai->nr_groups <= 0);\n}\n',
    })
    lines = [e.debugfs_line() for e in build_index(root, progress=False)]
    assert lines == [
        '<0> fs/ext4/inode.c:4 ext4_getblk "Assertion failure in %s() at %s:%d: \'%s\'\\n"',
        '<7> fs/ext4/inode.c:5 ext4_getblk "blk %d\\n"',
        '<0> mm/percpu.c:7 pcpu_setup_first_chunk "percpu: failed to initialize, %s\\n"',
        '<0> mm/percpu.c:7 pcpu_setup_first_chunk "percpu: cpu_possible_mask=%*pb\\n"',
    ]


def test_wrappers_with_pr_fmt_inside_and_text_after_the_format(tree):
    """include/linux/suspend.h: __pm_pr_dbg(fmt) is printk(KERN_DEBUG pr_fmt(fmt), ...) (then pr_debug):
    the caller's pr_fmt applies and the kernel indexes the printk; ACPI's ec_log_raw(fmt) is
    pr_info(fmt "\\n", ...): text after the format is kept."""
    root = tree({
        "kernel/power/power.h": '#define __pm_pr_dbg(fmt, ...) do { if (dbg()) \\\n'
                                '  printk(KERN_DEBUG pr_fmt(fmt), ##__VA_ARGS__); \\\n'
                                '  else pr_debug(fmt, ##__VA_ARGS__); } while (0)\n'
                                '#define pm_pr_dbg(fmt, ...) __pm_pr_dbg(fmt, ##__VA_ARGS__)\n',
        "kernel/power/suspend.c": '#define pr_fmt(fmt) "PM: " fmt\n#include "power.h"\n'
                                  '#define ec_log_raw(fmt, ...) pr_info(fmt "\\n", ##__VA_ARGS__)\n'
                                  'void enter_state(void)\n{\n\tpm_pr_dbg("Finishing wakeup.\\n");\n'
                                  '\tec_log_raw("EC started");\n}\n',
    })
    lines = [e.debugfs_line() for e in build_index(root, progress=False) if e.in_kernel_index]
    assert lines == ['<7> kernel/power/suspend.c:6 enter_state "PM: Finishing wakeup.\\n"',
                     '<6> kernel/power/suspend.c:7 enter_state "PM: EC started\\n"']


def test_wrappers_that_pass_the_family_as_an_argument(tree):
    """kernel/trace/trace.h: MEM_FAIL(cond, fmt) is DO_ONCE_LITE_IF(cond, pr_err, "ERROR: " fmt), which calls
    pr_err("ERROR: " fmt) (the kernel indexes it; found in a CONFIG_PRINTK_INDEX=y build of kernel/trace)."""
    root = tree({
        "kernel/trace/trace.h": '#define MEM_FAIL(condition, fmt, ...) \\\n'
                                '\tDO_ONCE_LITE_IF(condition, pr_err, "ERROR: " fmt, ##__VA_ARGS__)\n',
        "kernel/trace/trace.c": '#include "trace.h"\nvoid create_trace_instances(void)\n{\n'
                                '\tif (MEM_FAIL(!dir, "Failed to create instances directory\\n"))\n\t\treturn;\n}\n',
    })
    assert [e.debugfs_line() for e in build_index(root, progress=False)] == [
        '<3> kernel/trace/trace.c:4 create_trace_instances "ERROR: Failed to create instances directory\\n"']


def test_warn_messages_take_their_level_from_the_format(tree):
    """__warn_printk() is vprintk(fmt): btrfs_abort_transaction's WARN(c, KERN_ERR "BTRFS: ...") prints at
    level 3 with the text after the prefix (the matcher can then find it in dmesg); a plain WARN text
    has the default level."""
    root = tree({"w.c": 'void f(void)\n{\n\tWARN(c, KERN_ERR "BTRFS: Transaction aborted (error %d)\\n", e);\n'
                        '\tWARN_ONCE(1, "plain %d\\n", 2);\n}\n'})
    ix = build_index(root, progress=False)
    assert [(e.levelno, e.text, e.in_kernel_index) for e in ix] == [
        (3, "BTRFS: Transaction aborted (error %d)\n", False), (-1, "plain %d\n", False)]
    from lwnlab.printk.match import Matcher

    r = Matcher.from_index(ix).match(["[ 9.1] BTRFS: Transaction aborted (error -28)"])[0]
    assert r.entry is not None and r.entry.line == 3
