package dev.hostd.vmm.loader.linux;

import dev.hostd.vmm.internal.linux.kvm_segment;
import java.lang.foreign.MemorySegment;

/** A flat, present, ring-0 segment register as both Linux entries load them (PVH and the 64-bit bzImage entry). */
final class FlatSegment {
    private FlatSegment() {}

    /** Base 0, {@code limit}, 32-bit default size and 4 KiB granularity; {@code codeOrData} false for system segments (TSS). */
    static void set(MemorySegment seg, int selector, int type, boolean codeOrData, long limit) {
        kvm_segment.base(seg, 0);
        kvm_segment.limit(seg, (int) limit);
        kvm_segment.selector(seg, (short) selector);
        kvm_segment.type(seg, (byte) type);
        kvm_segment.present(seg, (byte) 1);
        kvm_segment.dpl(seg, (byte) 0);
        kvm_segment.db(seg, (byte) 1);
        kvm_segment.s(seg, (byte) (codeOrData ? 1 : 0));
        kvm_segment.l(seg, (byte) 0);
        kvm_segment.g(seg, (byte) 1);
        kvm_segment.unusable(seg, (byte) 0);
    }
}
