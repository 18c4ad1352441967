package dev.hostd.daemon;

import dev.hostd.template.Sandbox;
import dev.hostd.template.Template;
import dev.hostd.vmm.identity.Identity;

/** The API's JSON views of templates and sandboxes (docs/openapi.yaml). */
final class Views {
    private Views() {}

    static Dto.TemplateView of(Template t) {
        return new Dto.TemplateView(t.id(), (int) (t.memoryBytes() >> 20), t.createdAt().toString(), t.guestImageSha256(),
                t.directory().toString(), t.formatVersion(), SandboxNetworks.hasNetworkDevice(t), t.kind().label(), t.vcpuCount());
    }

    /** A sandbox as lists and create/pause/resume answers show it: no page-map walk. */
    static Dto.SandboxView of(LiveSandbox l) {
        return of(l, false);
    }

    /** With {@code measureMemory}, privateMemoryBytes is read from the page map (GET of one sandbox). */
    static Dto.SandboxView of(LiveSandbox l, boolean measureMemory) {
        Sandbox s = l.sandbox;
        Identity i = s.identity();
        return new Dto.SandboxView(s.id(), s.templateId(), i.tenantId(), s.state().name(), Identity.formatMac(i.mac()),
                Identity.formatIpv4(i.ipv4()), i.prefixLength(), Identity.formatIpv4(i.gateway()), i.hostname(),
                l.createdAt.toString(), l.cloneMillis,
                new Dto.AgentView(s.report().generation(), s.report().identitiesSeen(), s.report().agentVersion()),
                resources(l, measureMemory), l.network);
    }

    /** Null if the sandbox was deleted while being read (its mapping is gone). */
    private static Long privateMemory(LiveSandbox l) {
        try {
            return l.sandbox.privateMemoryBytes();
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static Dto.ResourcesView resources(LiveSandbox l, boolean measureMemory) {
        Long privateBytes = measureMemory ? privateMemory(l) : null;
        if (l.cgroup == null) {
            return new Dto.ResourcesView(l.memoryLimitBytes, privateBytes, null, null, null);
        }
        return new Dto.ResourcesView(l.memoryLimitBytes, privateBytes, SandboxCgroups.cpuUsageNanos(l.cgroup),
                SandboxCgroups.path(l.cgroup), l.limits.view());
    }
}
