package dev.hostd.vmm.loader.linux;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Small synthetic bzImages with a valid 2.15 setup header, for tests to break one field at a time. */
public final class TestImages {
    static final int SETUP_SECTS = 3;
    static final int KERNEL_SIZE = 0x2000;
    static final long PREF_ADDRESS = 0x100_0000;

    private TestImages() {}

    /** A valid 64-bit relocatable bzImage: 4 sectors of setup, an 8 KiB "kernel" whose payload is its second KiB. */
    static byte[] bzImage() {
        byte[] file = new byte[(SETUP_SECTS + 1) * 512 + KERNEL_SIZE];
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1f1, (byte) SETUP_SECTS);
        b.putInt(0x1f4, KERNEL_SIZE / 16);
        b.putShort(0x1fe, (short) 0xAA55);
        b.put(0x200, (byte) 0xEB).put(0x201, (byte) 0x6A); // jmp: setup header ends at 0x26c
        b.putInt(0x202, 0x5372_6448); // "HdrS"
        b.putShort(0x206, (short) 0x020F);
        b.put(0x211, (byte) ZeroPage.LOADED_HIGH);
        b.putInt(0x214, 0x100000);
        b.putInt(0x22c, 0x7fff_ffff);
        b.putInt(0x230, 0x20_0000);
        b.put(0x234, (byte) 1);
        b.putShort(0x236, (short) (ZeroPage.XLF_KERNEL_64 | ZeroPage.XLF_CAN_BE_LOADED_ABOVE_4G));
        b.putInt(0x238, 2047);
        b.putInt(0x248, 0x400);
        b.putInt(0x24c, 0x400);
        b.putLong(0x258, PREF_ADDRESS);
        b.putInt(0x260, 0x10_0000);
        for (int i = 0; i < KERNEL_SIZE; i++) {
            file[(SETUP_SECTS + 1) * 512 + i] = (byte) i;
        }
        return file;
    }

    /**
     * The same header around {@code kernel} as the protected-mode kernel (padded to 16 bytes, at
     * least 0x800), for tests that run it: its startup_64 is at offset 0x200. The "payload" is
     * its last 0x400 bytes.
     */
    public static byte[] bzImage(byte[] kernel) {
        int size = Math.max(0x800, (kernel.length + 15) & -16);
        byte[] file = java.util.Arrays.copyOf(bzImage(), (SETUP_SECTS + 1) * 512 + size);
        java.util.Arrays.fill(file, (SETUP_SECTS + 1) * 512, file.length, (byte) 0);
        System.arraycopy(kernel, 0, file, (SETUP_SECTS + 1) * 512, kernel.length);
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x1f4, size / 16);
        b.putInt(0x248, size - 0x400);
        return file;
    }

    static byte[] with(byte[] file, int offset, long value, int size) {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        switch (size) {
            case 1 -> b.put(offset, (byte) value);
            case 2 -> b.putShort(offset, (short) value);
            case 4 -> b.putInt(offset, (int) value);
            default -> b.putLong(offset, value);
        }
        return file;
    }
}
