package dev.hostd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hostctl tenant network set|get|delete}: a tenant's network (docs/network.md, "In the daemon"). */
@Command(name = "tenant", description = "Manage tenants: their networks.",
        subcommands = TenantCommands.Network.class)
final class TenantCommands {

    @Command(name = "network", description = "A tenant's network: VXLAN VNI of its VPC, the sandboxes' subnet, the VPC gateway.",
            subcommands = {Set.class, Get.class, Delete.class})
    static final class Network {
    }

    static String describe(JsonNode n) {
        return Format.text(n, "tenant") + " vni " + Format.text(n, "vni") + " " + Format.text(n, "cidr") + " gateway "
                + Format.text(n, "gateway") + " namespace " + Format.text(n, "namespace") + ", " + Format.text(n, "sandboxes") + " sandbox(es)";
    }

    @Command(name = "set", description = {"Set a tenant's network; the same values again change nothing.",
            "Changing it is refused (exit code of 409 conflict) while sandboxes use it."})
    static final class Set extends ApiCommand {
        @Parameters(index = "0", paramLabel = "TENANT")
        String tenant;

        @Option(names = "--vni", required = true, paramLabel = "N", description = "VXLAN network identifier of the tenant's VPC (1..16777215).")
        int vni;

        @Option(names = "--cidr", required = true, paramLabel = "CIDR", description = "The sandboxes' subnet, e.g. 198.18.0.0/24 (/8../30).")
        String cidr;

        @Option(names = "--gateway", required = true, paramLabel = "A", description = "The VPC gateway's address inside CIDR.")
        String gateway;

        @Override
        int run(ApiClient api) {
            return show(ApiClient.expectSuccess(api.put(object().put("vni", vni).put("cidr", cidr).put("gateway", gateway),
                    "v1", "tenants", tenant, "network")).json(), n -> describe(n) + "\n");
        }
    }

    @Command(name = "get", description = "Show a tenant's network.")
    static final class Get extends ApiCommand {
        @Parameters(index = "0", paramLabel = "TENANT")
        String tenant;

        @Override
        int run(ApiClient api) {
            return show(ApiClient.expectSuccess(api.get("v1", "tenants", tenant, "network")).json(), n -> describe(n) + "\n");
        }
    }

    @Command(name = "delete", description = "Remove a tenant's network (refused while sandboxes use it).")
    static final class Delete extends ApiCommand {
        @Parameters(index = "0", paramLabel = "TENANT")
        String tenant;

        @Override
        int run(ApiClient api) {
            ApiClient.expectSuccess(api.delete("v1", "tenants", tenant, "network"));
            return show(object().put("tenant", tenant).put("deleted", true), n -> "deleted the network of tenant " + tenant + "\n");
        }
    }
}
