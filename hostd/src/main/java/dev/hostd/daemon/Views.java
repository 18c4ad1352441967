package dev.hostd.daemon;

import dev.hostd.template.Sandbox;
import dev.hostd.template.Template;
import dev.hostd.vmm.identity.Identity;

/** The API's JSON views of templates and sandboxes (docs/openapi.yaml). */
final class Views {
    private Views() {}

    static Dto.TemplateView of(Template t) {
        return new Dto.TemplateView(t.id(), (int) (t.memoryBytes() >> 20), t.createdAt().toString(), t.guestImageSha256(),
                t.directory().toString(), t.formatVersion());
    }

    static Dto.SandboxView of(LiveSandbox l) {
        Sandbox s = l.sandbox;
        Identity i = s.identity();
        return new Dto.SandboxView(s.id(), s.templateId(), i.tenantId(), s.state().name(), Identity.formatMac(i.mac()),
                Identity.formatIpv4(i.ipv4()), i.prefixLength(), Identity.formatIpv4(i.gateway()), i.hostname(),
                l.createdAt.toString(), l.cloneMillis,
                new Dto.AgentView(s.report().generation(), s.report().identitiesSeen(), s.report().agentVersion()));
    }
}
