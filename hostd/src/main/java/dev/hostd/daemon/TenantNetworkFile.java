package dev.hostd.daemon;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hostd.net.Ipv4;
import dev.hostd.net.Ipv4Cidr;
import dev.hostd.net.TenantSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tenants' networks as the API set them, kept in {@code <state-dir>/tenant-networks.json} so a
 * restarted daemon sets them up again (sandboxes do not survive a restart; tenant networks do).
 * Written whole to a temporary file and renamed, so a crash leaves the old or the new list.
 */
final class TenantNetworkFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;

    TenantNetworkFile(Path stateDir) {
        this.file = stateDir.resolve("tenant-networks.json");
    }

    Path path() {
        return file;
    }

    /** The saved tenants; none if the file does not exist. A corrupt file stops the start with its name. */
    List<TenantSpec> load() {
        if (!Files.exists(file)) {
            return List.of();
        }
        try {
            List<Map<String, Object>> rows = JSON.readValue(file.toFile(), new TypeReference<>() {});
            List<TenantSpec> specs = new ArrayList<>();
            for (Map<String, Object> r : rows) {
                specs.add(new TenantSpec((String) r.get("tenant"), ((Number) r.get("vni")).intValue(),
                        Ipv4Cidr.parse((String) r.get("cidr")), Ipv4.parse((String) r.get("gateway"))));
            }
            return specs;
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("cannot read the tenant networks in " + file + ": " + e.getMessage()
                    + " (fix or remove the file; the tenants' networks are then PUT again)", e);
        }
    }

    void save(Collection<TenantSpec> specs) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (TenantSpec s : specs) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("tenant", s.tenantId());
            r.put("vni", s.vni());
            r.put("cidr", s.subnet().toString());
            r.put("gateway", Ipv4.format(s.gateway()));
            rows.add(r);
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), rows);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new ApiException(ProblemCode.HOST_UNAVAILABLE, "cannot save the tenant networks to " + file + ": " + e.getMessage());
        }
    }
}
