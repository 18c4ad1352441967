#!/usr/bin/env python3
"""Writes the FFM struct bindings for <linux/kvm.h> in jextract's shape.

jextract cannot be installed on our build hosts, so this script stands in for it: one class per
C struct with its layout and accessors for the fields the VMM uses. KvmHeaderTest checks every
size and offset against the real header with gcc. Re-run after editing STRUCTS:
    python3 vmm-bridge/tools/gen_kvm_bindings.py
"""
import os

OUT = os.path.join(os.path.dirname(__file__), "..", "src/main/java/dev/hostd/vmm/internal/linux")
JTYPE = {"u8": ("JAVA_BYTE", "byte"), "u16": ("JAVA_SHORT", "short"), "u32": ("JAVA_INT", "int"), "u64": ("JAVA_LONG", "long")}
SIZE = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}

# (c_name, [fields]); field = (name, type) | (name, type, count) | (name, "struct:X") | (name, "struct:X", count)
# | (name, "union", [(member, struct-or-type, ...)], size). Names starting with "_" are padding that C leaves unnamed.
STRUCTS = [
    ("kvm_regs", [(r, "u64") for r in "rax rbx rcx rdx rsi rdi rsp rbp r8 r9 r10 r11 r12 r13 r14 r15 rip rflags".split()]),
    ("kvm_segment", [("base", "u64"), ("limit", "u32"), ("selector", "u16"), ("type", "u8"), ("present", "u8"),
                     ("dpl", "u8"), ("db", "u8"), ("s", "u8"), ("l", "u8"), ("g", "u8"), ("avl", "u8"),
                     ("unusable", "u8"), ("padding", "u8")]),
    ("kvm_dtable", [("base", "u64"), ("limit", "u16"), ("padding", "u16", 3)]),
    ("kvm_sregs", [(s, "struct:kvm_segment") for s in "cs ds es fs gs ss tr ldt".split()]
                  + [("gdt", "struct:kvm_dtable"), ("idt", "struct:kvm_dtable")]
                  + [(c, "u64") for c in "cr0 cr2 cr3 cr4 cr8 efer apic_base".split()]
                  + [("interrupt_bitmap", "u64", 4)]),
    ("kvm_userspace_memory_region", [("slot", "u32"), ("flags", "u32"), ("guest_phys_addr", "u64"),
                                     ("memory_size", "u64"), ("userspace_addr", "u64")]),
    ("kvm_run_io", [("direction", "u8"), ("size", "u8"), ("port", "u16"), ("count", "u32"), ("data_offset", "u64")]),
    ("kvm_run_mmio", [("phys_addr", "u64"), ("data", "u8", 8), ("len", "u32"), ("is_write", "u8"), ("_pad", "u8", 3)]),
    ("kvm_run_internal", [("suberror", "u32"), ("ndata", "u32"), ("data", "u64", 16)]),
    ("kvm_run_fail_entry", [("hardware_entry_failure_reason", "u64"), ("cpu", "u32"), ("_pad", "u32")]),
    ("kvm_run", [("request_interrupt_window", "u8"), ("immediate_exit", "u8"), ("padding1", "u8", 6),
                 ("exit_reason", "u32"), ("ready_for_interrupt_injection", "u8"), ("if_flag", "u8"), ("flags", "u16"),
                 ("cr8", "u64"), ("apic_base", "u64"),
                 ("anon_exit", "union", [("io", "struct:kvm_run_io"), ("mmio", "struct:kvm_run_mmio"),
                                          ("internal", "struct:kvm_run_internal"), ("fail_entry", "struct:kvm_run_fail_entry")], 256),
                 ("kvm_valid_regs", "u64"), ("kvm_dirty_regs", "u64"), ("s", "u8", 2048)]),
    ("kvm_cpuid_entry2", [("function", "u32"), ("index", "u32"), ("flags", "u32"), ("eax", "u32"), ("ebx", "u32"),
                          ("ecx", "u32"), ("edx", "u32"), ("padding", "u32", 3)]),
    ("kvm_cpuid2", [("nent", "u32"), ("padding", "u32")]),
    ("kvm_msr_entry", [("index", "u32"), ("reserved", "u32"), ("data", "u64")]),
    ("kvm_msrs", [("nmsrs", "u32"), ("pad", "u32")]),
    ("kvm_msr_list", [("nmsrs", "u32")]),
    ("kvm_signal_mask", [("len", "u32")]),
    ("kvm_clock_data", [("clock", "u64"), ("flags", "u32"), ("pad0", "u32"), ("realtime", "u64"), ("host_tsc", "u64"), ("pad", "u32", 4)]),
    ("kvm_irqchip", [("chip_id", "u32"), ("pad", "u32"), ("chip", "u8", 512)]),
    ("kvm_pit_config", [("flags", "u32"), ("pad", "u32", 15)]),
    ("kvm_pit_state2", [("channels", "u8", 72), ("flags", "u32"), ("reserved", "u32", 9)]),
    ("kvm_xsave", [("region", "u32", 1024)]),
    ("kvm_xcr", [("xcr", "u32"), ("reserved", "u32"), ("value", "u64")]),
    ("kvm_xcrs", [("nr_xcrs", "u32"), ("flags", "u32"), ("xcrs", "struct:kvm_xcr", 16), ("padding", "u64", 16)]),
    ("kvm_debugregs", [("db", "u64", 4), ("dr6", "u64"), ("dr7", "u64"), ("flags", "u64"), ("reserved", "u64", 9)]),
    ("kvm_lapic_state", [("regs", "u8", 1024)]),
    ("kvm_vcpu_events", [("exception", "u8", 8), ("interrupt", "u8", 4), ("nmi", "u8", 4), ("sipi_vector", "u32"),
                         ("flags", "u32"), ("smi", "u8", 4), ("triple_fault", "u8"), ("reserved", "u8", 26), ("exception_has_payload", "u8"),
                         ("exception_payload", "u64")]),
    ("kvm_mp_state", [("mp_state", "u32")]),
    ("kvm_irqfd", [("fd", "u32"), ("gsi", "u32"), ("flags", "u32"), ("resamplefd", "u32"), ("pad", "u8", 16)]),
    ("kvm_ioeventfd", [("datamatch", "u64"), ("addr", "u64"), ("len", "u32"), ("fd", "u32"), ("flags", "u32"), ("pad", "u8", 36)]),
]
BY_NAME = dict(STRUCTS)
# C names of the helper structs that are anonymous inside struct kvm_run.
C_ALIASES = {"kvm_run_io": None, "kvm_run_mmio": None, "kvm_run_internal": None, "kvm_run_fail_entry": None}


def size_of(ftype, count=1):
    if ftype.startswith("struct:"):
        return struct_size(ftype[7:]) * count
    return SIZE[ftype] * count


def align_of(ftype):
    if ftype.startswith("struct:"):
        return max(align_of(f[1]) if f[1] != "union" else 8 for f in BY_NAME[ftype[7:]])
    return SIZE[ftype]


def struct_size(name):
    off = 0
    for f in BY_NAME[name]:
        if f[1] == "union":
            off += f[3]
        else:
            off += size_of(f[1], f[2] if len(f) > 2 else 1)
    return off


def layout_expr(f):
    name, ftype = f[0], f[1]
    if ftype == "union":
        members = ", ".join(f'{m[1][7:]}.LAYOUT.withName("{m[0]}")' for m in f[2])
        return f'MemoryLayout.unionLayout({members}, MemoryLayout.paddingLayout({f[3]})).withName("{name}")'
    count = f[2] if len(f) > 2 else 1
    base = f"{ftype[7:]}.LAYOUT" if ftype.startswith("struct:") else f"ValueLayout.{JTYPE[ftype][0]}"
    if count > 1:
        return f'MemoryLayout.sequenceLayout({count}, {base}).withName("{name}")'
    return f'{base}.withName("{name}")'


def accessors(f):
    name, ftype = f[0], f[1]
    if ftype == "union" or name.startswith("_") or name.startswith("pad") or name == "reserved":
        return ""
    count = f[2] if len(f) > 2 else 1
    const = name.upper() + "_OFFSET"
    out = f'    public static final long {const} = LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("{name}"));\n'
    if ftype.startswith("struct:") or count > 1:
        sz = size_of(ftype, count)
        out += f'\n    public static MemorySegment {name}(MemorySegment struct) {{\n        return struct.asSlice({const}, {sz});\n    }}\n'
        return out
    vl, jt = JTYPE[ftype]
    out += f'\n    public static {jt} {name}(MemorySegment struct) {{\n        return struct.get(ValueLayout.{vl}, {const});\n    }}\n'
    out += f'\n    public static void {name}(MemorySegment struct, {jt} value) {{\n        struct.set(ValueLayout.{vl}, {const}, value);\n    }}\n'
    return out


def write_struct(name, fields):
    c_name = name if name not in C_ALIASES else "(anonymous in struct kvm_run)"
    layouts = ",\n            ".join(layout_expr(f) for f in fields)
    acc = "".join(accessors(f) for f in fields)
    src = f'''// Generated by vmm-bridge/tools/gen_kvm_bindings.py in jextract's shape; checked against
// <linux/kvm.h> by KvmHeaderTest. Do not edit by hand.
package dev.hostd.vmm.internal.linux;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/** {c_name}. */
@SuppressWarnings("unused")
public final class {name} {{
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            {layouts}).withName("{name}");

    private {name}() {{}}

    public static long sizeof() {{
        return LAYOUT.byteSize();
    }}
{acc}}}
'''
    # Java's JAVA_LONG inside a struct must sit at an 8-aligned offset; sizes here are exact by construction.
    with open(os.path.join(OUT, name + ".java"), "w") as fh:
        fh.write(src)


for n, fs in STRUCTS:
    write_struct(n, fs)

registry = ",\n            ".join(f'Map.entry("{n}", {n}.LAYOUT)' for n, _ in STRUCTS if n not in C_ALIASES)
with open(os.path.join(OUT, "KvmLayouts.java"), "w") as fh:
    fh.write(f'''// Generated by vmm-bridge/tools/gen_kvm_bindings.py. Do not edit by hand.
package dev.hostd.vmm.internal.linux;

import java.lang.foreign.StructLayout;
import java.util.Map;

/** Every struct of {{@code <linux/kvm.h>}} the bindings use, by its C name; KvmHeaderTest checks each one. */
public final class KvmLayouts {{
    public static final Map<String, StructLayout> ALL = Map.ofEntries(
            {registry});

    private KvmLayouts() {{}}
}}
''')
print("wrote", len(STRUCTS), "structs to", os.path.normpath(OUT))
