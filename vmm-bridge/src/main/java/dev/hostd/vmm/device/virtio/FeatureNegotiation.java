package dev.hostd.vmm.device.virtio;

/** The feature registers of a transport: select registers, the driver's accepted bits, the acceptance check. */
final class FeatureNegotiation {
    private static final System.Logger LOG = System.getLogger(FeatureNegotiation.class.getName());

    int deviceSel;
    int driverSel;
    long driverFeatures;

    void reset() {
        deviceSel = driverSel = 0;
        driverFeatures = 0;
    }

    /** The DeviceFeatures register: the 32-bit word of {@code offered} selected by DeviceFeaturesSel. */
    int deviceWord(long offered) {
        return (deviceSel & ~1) != 0 ? 0 : (int) (offered >>> (32 * deviceSel));
    }

    /** A write to DriverFeatures; ignored once features are frozen (FEATURES_OK set). */
    void writeDriverWord(int v, boolean frozen) {
        if (frozen || (driverSel & ~1) != 0) {
            return;
        }
        int shift = 32 * driverSel;
        driverFeatures = driverFeatures & ~(0xffffffffL << shift) | (Integer.toUnsignedLong(v) << shift);
    }

    /** FEATURES_OK may be set: nothing beyond what was offered, and VIRTIO_F_VERSION_1. */
    boolean acceptable(long offered) {
        if ((driverFeatures & ~offered) != 0) {
            LOG.log(System.Logger.Level.WARNING, "driver accepted features not offered: {0}",
                    Long.toHexString(driverFeatures & ~offered));
            return false;
        }
        return (driverFeatures & VirtioFeatures.VERSION_1) != 0;
    }
}
