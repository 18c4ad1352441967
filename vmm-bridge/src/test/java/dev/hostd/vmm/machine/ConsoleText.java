package dev.hostd.vmm.machine;

/** Reading a console that is still being written. */
final class ConsoleText {
    private ConsoleText() {}

    /**
     * Whether a line starting with {@code prefix} has been printed to its end: an emulated kernel
     * writes the console a byte at a time, so a poll can see half a line.
     */
    static boolean hasWholeLine(String text, String prefix) {
        int at = text.indexOf(prefix);
        return at >= 0 && text.indexOf('\n', at) >= 0;
    }
}
