package dev.hostd.template;

import dev.hostd.vmm.machine.LinuxSnapshot;
import dev.hostd.vmm.snapshot.MicrovmState;

/**
 * What runs in a template's VM: the built-in test guest (user-mode ELF, {@code MicroVm}) or a stock
 * Linux kernel with the project's initramfs ({@code LinuxVm}). The state file says which (its
 * machine's guest kind), and template metadata {@value #META_KEY} repeats it for people and tools.
 */
public enum GuestKind {
    TEST_GUEST("test-guest", "user-elf"),
    LINUX("linux", LinuxSnapshot.GUEST_KIND);

    /** The metadata key that records the kind, with {@link #label()} as its value. */
    public static final String META_KEY = "template.guest";

    private final String label;
    private final String machineKind;

    GuestKind(String label, String machineKind) {
        this.label = label;
        this.machineKind = machineKind;
    }

    /** The name the API and the metadata use: "test-guest" or "linux". */
    public String label() {
        return label;
    }

    /** The kind named in an API request; anything else is INVALID_INPUT naming the field. */
    public static GuestKind parse(String label) {
        for (GuestKind k : values()) {
            if (k.label.equals(label)) {
                return k;
            }
        }
        throw new TemplateException(TemplateException.Kind.INVALID_INPUT,
                "guest '" + label + "' is not a guest kind: expected \"" + TEST_GUEST.label + "\" or \"" + LINUX.label + "\"");
    }

    /**
     * The kind of a saved template, from its machine's guest kind; metadata naming another kind (a
     * file edited or mixed up) is CORRUPT. Templates written before the metadata key existed have none.
     */
    public static GuestKind of(MicrovmState state) {
        String machine = state.machine().guestKind();
        GuestKind kind = null;
        for (GuestKind k : values()) {
            if (k.machineKind.equals(machine)) {
                kind = k;
            }
        }
        if (kind == null) {
            throw new TemplateException(TemplateException.Kind.CORRUPT, "the state file's machine has guest kind '" + machine
                    + "', which hostd cannot restore (known: " + TEST_GUEST.machineKind + ", " + LINUX.machineKind + ")");
        }
        String recorded = state.metadata().get(META_KEY);
        if (recorded != null && !recorded.equals(kind.label)) {
            throw new TemplateException(TemplateException.Kind.CORRUPT, "the state file's metadata says guest '" + recorded
                    + "' but its machine is a " + kind.label + " (" + machine + ")");
        }
        return kind;
    }
}
