package dev.hostd.daemon;

import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Put;
import io.micronaut.http.annotation.Status;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;

/**
 * API v1: a tenant's network (docs/network.md, "In the daemon"). Setting one up runs iproute2, so
 * these routes run on the blocking executor.
 */
@Controller("/v1/tenants/{tenant}/network")
@ExecuteOn(TaskExecutors.IO)
public class TenantNetworkController {
    private final SandboxNetworks networks;

    public TenantNetworkController(SandboxNetworks networks) {
        this.networks = networks;
    }

    /** Creates or changes the tenant's network; the same body again is a no-op. */
    @Put
    public Dto.TenantNetworkView put(@PathVariable String tenant, @Body Dto.TenantNetworkRequest request) {
        return networks.put(tenant, request);
    }

    @Get
    public Dto.TenantNetworkView get(@PathVariable String tenant) {
        return networks.get(tenant);
    }

    @Delete
    @Status(HttpStatus.NO_CONTENT)
    public void delete(@PathVariable String tenant) {
        networks.delete(tenant);
    }
}
