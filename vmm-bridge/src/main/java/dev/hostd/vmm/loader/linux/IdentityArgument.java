package dev.hostd.vmm.loader.linux;

import dev.hostd.vmm.VmmException;

/**
 * The {@code hostd.identity=0x<hex>} kernel parameter that tells the Linux agent where the identity
 * page is (docs/guest-abi.md, "The Linux agent"). The VMM appends it; a caller's command line that
 * already names another address is refused, since the agent would read a page nobody writes.
 */
public final class IdentityArgument {
    public static final String KEY = "hostd.identity=";

    private IdentityArgument() {}

    public static String format(long address) {
        return KEY + "0x" + Long.toHexString(address);
    }

    /** {@code cmdline} with the parameter for {@code address} appended, unless it is already there. */
    public static String append(String cmdline, long address) {
        String wanted = format(address);
        boolean present = false;
        for (String word : cmdline.trim().split("\\s+")) {
            if (!word.startsWith(KEY)) {
                continue;
            }
            if (!sameAddress(word.substring(KEY.length()), address)) {
                throw new VmmException(VmmException.Kind.INVALID_INPUT, "boot Linux guest", "the command line sets '" + word
                        + "', but the VMM puts the identity page at 0x" + Long.toHexString(address) + "; drop the parameter");
            }
            present = true;
        }
        if (present) {
            return cmdline;
        }
        return cmdline.isBlank() ? wanted : cmdline.stripTrailing() + " " + wanted;
    }

    private static boolean sameAddress(String value, long address) {
        if (!value.startsWith("0x") && !value.startsWith("0X")) {
            return false;
        }
        try {
            return Long.parseUnsignedLong(value.substring(2), 16) == address;
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
