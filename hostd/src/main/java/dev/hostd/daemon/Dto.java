package dev.hostd.daemon;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/** The JSON bodies of API v1 (docs/openapi.yaml). Requests reject unknown members, so a typo is an error, not a default. */
public final class Dto {
    private Dto() {}

    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record TemplateRequest(@Nullable String id, @Nullable String image, @Nullable Integer memoryMiB, @Nullable Boolean network,
                                  @Nullable String guest, @Nullable String kernel, @Nullable String initramfs, @Nullable Integer vcpus) {}

    /** guest is "test-guest" or "linux"; guestImageSha256 is the SHA-256 of the test guest's ELF or of the Linux kernel. */
    @Serdeable
    public record TemplateView(String id, int memoryMiB, String createdAt, String guestImageSha256, String directory, String formatVersion,
                               boolean network, String guest, int vcpus) {}

    @Serdeable
    public record RejectedView(String id, String directory, String reason) {}

    @Serdeable
    public record TemplateList(List<TemplateView> templates, List<RejectedView> rejected) {}

    @Serdeable
    public record VerificationView(String id, boolean ok, String detail) {}

    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record SandboxRequest(@Nullable String id, @Nullable String template, @Nullable String tenant, @Nullable String mac,
                                 @Nullable String ipv4, @Nullable Integer prefixLength, @Nullable String gateway,
                                 @Nullable String hostname, @Nullable LimitsRequest limits) {}

    /** CPU limits of one sandbox; a member left out takes the daemon's default (hostd.cgroups.cpu-percent, cpu-weight). */
    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record LimitsRequest(@Nullable Integer cpuPercent, @Nullable Integer cpuWeight) {}

    /** The limits in force: cpuPercent null means no quota. */
    @Serdeable
    public record LimitsView(@Nullable Integer cpuPercent, int cpuWeight) {}

    /**
     * What a sandbox holds and used. privateMemoryBytes is read from the page map on GET of one
     * sandbox only (null elsewhere: it costs ~0.1 ms per 64 MiB of guest RAM); cpuUsageNanos,
     * cgroup and limits are null when hostd.cgroups.enabled is false.
     */
    @Serdeable
    public record ResourcesView(long memoryLimitBytes, @Nullable Long privateMemoryBytes, @Nullable Long cpuUsageNanos,
                                @Nullable String cgroup, @Nullable LimitsView limits) {}

    @Serdeable
    public record AgentView(long generation, int identitiesSeen, int agentVersion) {}

    @Serdeable
    public record SandboxView(String id, String template, String tenant, String state, String mac, String ipv4, int prefixLength,
                              String gateway, String hostname, String createdAt, double cloneMillis, AgentView agent,
                              ResourcesView resources, @Nullable SandboxNetworkView network) {}

    /** Where a sandbox's TAP lives (null in SandboxView: no network device or networking off). */
    @Serdeable
    public record SandboxNetworkView(String tenantNamespace, String tap) {}

    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record TenantNetworkRequest(@Nullable Integer vni, @Nullable String cidr, @Nullable String gateway) {}

    @Serdeable
    public record TenantNetworkView(String tenant, int vni, String cidr, String gateway, String namespace, int sandboxes) {}

    @Serdeable
    public record SandboxList(List<SandboxView> sandboxes) {}

    @Serdeable
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record InvokeRequest(@Nullable String function, @Nullable String argumentBase64) {}

    @Serdeable
    public record InvokeView(int status, String statusName, String outputBase64, double millis) {}

    @Serdeable
    public record StatusView(String status) {}

    @Serdeable
    public record KvmView(String device, int apiVersion) {}

    @Serdeable
    public record CountView(int live, int max) {}

    @Serdeable
    public record MemoryView(long memAvailableBytes, long templateBytes, long processRssBytes) {}

    @Serdeable
    public record HostView(String version, KvmView kvm, CountView sandboxes, int templates, MemoryView memory, long uptimeSeconds) {}
}
