package dev.hostd.bench.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Unpacks gzip tar layers with GNU tar into one root directory, in order, applying OCI whiteouts
 * the way a container runtime does: {@code .wh.NAME} removes NAME of the lower layers, and
 * {@code .wh..wh..opq} empties its directory of what the lower layers put there. One pass of tar
 * per layer: its verbose listing tells which entries this layer wrote.
 */
final class LayerUnpacker {
    private static final String WHITEOUT = ".wh.";
    private static final String OPAQUE = ".wh..wh..opq";

    private LayerUnpacker() {}

    static void unpack(Path layerTarGz, Path root) throws IOException {
        String listing = Cmd.run("tar", "--numeric-owner", "--same-owner", "--same-permissions", "--xattrs", "--xattrs-include=*",
                "--quoting-style=literal", "-xzvf", layerTarGz.toString(), "-C", root.toString());
        Set<Path> written = new HashSet<>();
        List<Path> entries = listing.lines().filter(l -> !l.isBlank()).map(l -> normalize(root, l)).toList();
        written.addAll(entries);
        for (Path entry : entries) {
            String name = entry.getFileName() == null ? "" : entry.getFileName().toString();
            if (name.equals(OPAQUE)) {
                Path dir = entry.getParent();
                try (Stream<Path> children = Files.list(dir)) {
                    for (Path child : children.toList()) {
                        if (!written.contains(child)) {
                            delete(root, child);
                        }
                    }
                }
                Files.deleteIfExists(entry);
            } else if (name.startsWith(WHITEOUT)) {
                Path hidden = entry.resolveSibling(name.substring(WHITEOUT.length()));
                if (!written.contains(hidden)) {
                    delete(root, hidden);
                }
                Files.deleteIfExists(entry);
            }
        }
    }

    /** A listed entry as a path under root (tar strips leading "/" and "./"; refuses ".." itself). */
    private static Path normalize(Path root, String listed) {
        String p = listed.endsWith("/") ? listed.substring(0, listed.length() - 1) : listed;
        while (p.startsWith("./") || p.startsWith("/")) {
            p = p.substring(p.startsWith("./") ? 2 : 1);
        }
        return p.isEmpty() || p.equals(".") ? root : root.resolve(p).normalize();
    }

    private static void delete(Path root, Path p) throws IOException {
        if (!p.normalize().startsWith(root) || p.equals(root)) {
            throw new IOException("whiteout outside the layer root: " + p);
        }
        if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            Cmd.run("rm", "-rf", "--one-file-system", p.toString());
        }
    }
}
