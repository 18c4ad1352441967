package dev.hostd.template;

import dev.hostd.vmm.VmmException;
import dev.hostd.vmm.agent.AgentException;
import dev.hostd.vmm.device.virtio.DeviceStateException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Maps what the engine throws to a {@link TemplateException}, keeping its message. */
final class Errors {
    private Errors() {}

    static TemplateException wrap(String what, Throwable t) {
        Throwable cause = unwrap(t);
        if (cause instanceof TemplateException e) { // keep the kind, add what was being done unless it is said already
            return e.getMessage().startsWith(what) ? e : new TemplateException(e.kind(), what + ": " + e.getMessage(), e);
        }
        TemplateException.Kind kind = switch (cause) {
            case VmmException v -> switch (v.kind()) {
                case KVM_UNAVAILABLE, RESOURCE_EXHAUSTED -> TemplateException.Kind.HOST_UNAVAILABLE;
                case INVALID_INPUT -> TemplateException.Kind.INVALID_INPUT;
                case GUEST_FAILURE -> TemplateException.Kind.GUEST_FAILURE;
                case TIMEOUT -> TemplateException.Kind.TIMEOUT;
                default -> TemplateException.Kind.INTERNAL;
            };
            case AgentException a -> TemplateException.Kind.GUEST_FAILURE;
            case DeviceStateException d -> TemplateException.Kind.CORRUPT;
            case IllegalArgumentException i -> TemplateException.Kind.INVALID_INPUT;
            default -> TemplateException.Kind.INTERNAL;
        };
        return new TemplateException(kind, what + ": " + cause.getMessage(), cause);
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
