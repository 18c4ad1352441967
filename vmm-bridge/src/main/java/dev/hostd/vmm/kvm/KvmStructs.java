package dev.hostd.vmm.kvm;

import dev.hostd.vmm.VmmException;

/** Checks on raw kernel structs kept as bytes (snapshot data is only trusted once its size matches). */
final class KvmStructs {
    private KvmStructs() {}

    static void requireSize(byte[] bytes, long size, String operation) {
        if (bytes == null || bytes.length != size) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, operation,
                    operation + ": state is " + (bytes == null ? "missing" : bytes.length + " bytes") + ", the kernel struct is " + size + " bytes");
        }
    }
}
