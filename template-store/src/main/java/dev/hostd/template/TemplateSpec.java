package dev.hostd.template;

import java.util.regex.Pattern;

/**
 * What to build a Basepoint from: an id, a guest image, the machine's RAM and whether it has a
 * network device.
 *
 * @param guestImage the guest's ELF bytes (the test guest, or later a Linux image)
 * @param network a virtio-net device, disconnected while the template is built; each clone is
 *     given a TAP of its own ({@link Cloner#clone(Template, dev.hostd.vmm.identity.Identity, dev.hostd.vmm.device.net.Tap)})
 */
public record TemplateSpec(String id, byte[] guestImage, int memoryMiB, boolean network) {
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    public static final int MIN_MEMORY_MIB = 8, MAX_MEMORY_MIB = 1024;

    public TemplateSpec {
        validateId(id);
        if (guestImage == null || guestImage.length == 0) {
            throw new TemplateException(TemplateException.Kind.INVALID_INPUT, "guest image is empty");
        }
        if (memoryMiB < MIN_MEMORY_MIB || memoryMiB > MAX_MEMORY_MIB || memoryMiB % 2 != 0) {
            throw new TemplateException(TemplateException.Kind.INVALID_INPUT,
                    "template memory must be an even number of MiB in " + MIN_MEMORY_MIB + ".." + MAX_MEMORY_MIB + ", got " + memoryMiB);
        }
    }

    /** A template without a network device. */
    public TemplateSpec(String id, byte[] guestImage, int memoryMiB) {
        this(id, guestImage, memoryMiB, false);
    }

    public static void validateId(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new TemplateException(TemplateException.Kind.INVALID_INPUT,
                    "template id '" + id + "' must be 1-63 of [a-z0-9._-], starting with a letter or digit");
        }
    }
}
