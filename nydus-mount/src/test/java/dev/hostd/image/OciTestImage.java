package dev.hostd.image;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hostd.image.format.Digest;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;

/** Writes a real OCI image layout (oci-layout, index.json, manifest, config, tar/gzip layers) for tests. */
public final class OciTestImage {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One layer being written: add entries, then it becomes a blob. */
    public static final class Layer {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final TarArchiveOutputStream tar;
        final boolean gzip;
        private static final FileTime TIME = FileTime.fromMillis(1_700_000_000_123L);

        Layer(boolean gzip) {
            this.gzip = gzip;
            tar = new TarArchiveOutputStream(bytes, StandardCharsets.UTF_8.name());
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        }

        private TarArchiveEntry entry(String name, byte type) {
            TarArchiveEntry e = new TarArchiveEntry(name, type, true);
            e.setLastModifiedTime(TIME);
            return e;
        }

        public Layer dir(String name, int mode, int uid, int gid) throws IOException {
            TarArchiveEntry e = entry(name.endsWith("/") ? name : name + "/", TarConstants.LF_DIR);
            e.setMode(mode);
            e.setUserId(uid);
            e.setGroupId(gid);
            return put(e, null);
        }

        public Layer file(String name, int mode, byte[] content) throws IOException {
            return file(name, mode, 0, 0, content, List.of());
        }

        public Layer file(String name, int mode, int uid, int gid, byte[] content, List<String[]> xattrs) throws IOException {
            TarArchiveEntry e = entry(name, TarConstants.LF_NORMAL);
            e.setMode(mode);
            e.setUserId(uid);
            e.setGroupId(gid);
            e.setSize(content.length);
            for (String[] x : xattrs) {
                e.addPaxHeader("SCHILY.xattr." + x[0], x[1]);
            }
            return put(e, content);
        }

        public Layer symlink(String name, String target) throws IOException {
            TarArchiveEntry e = entry(name, TarConstants.LF_SYMLINK);
            e.setLinkName(target);
            e.setMode(0777);
            return put(e, null);
        }

        public Layer hardlink(String name, String target) throws IOException {
            TarArchiveEntry e = entry(name, TarConstants.LF_LINK);
            e.setLinkName(target);
            e.setMode(0644);
            return put(e, null);
        }

        public Layer device(String name, boolean character, int major, int minor) throws IOException {
            TarArchiveEntry e = entry(name, character ? TarConstants.LF_CHR : TarConstants.LF_BLK);
            e.setDevMajor(major);
            e.setDevMinor(minor);
            e.setMode(0660);
            return put(e, null);
        }

        public Layer fifo(String name) throws IOException {
            TarArchiveEntry e = entry(name, TarConstants.LF_FIFO);
            e.setMode(0600);
            return put(e, null);
        }

        public Layer whiteout(String dir, String name) throws IOException {
            return file((dir.isEmpty() ? "" : dir + "/") + ".wh." + name, 0, new byte[0]);
        }

        public Layer opaque(String dir) throws IOException {
            return file(dir + "/.wh..wh..opq", 0, new byte[0]);
        }

        private Layer put(TarArchiveEntry e, byte[] content) throws IOException {
            tar.putArchiveEntry(e);
            if (content != null) {
                tar.write(content);
            }
            tar.closeArchiveEntry();
            return this;
        }

        byte[] finish() throws IOException {
            tar.finish();
            tar.close();
            byte[] raw = bytes.toByteArray();
            if (!gzip) {
                return raw;
            }
            ByteArrayOutputStream gz = new ByteArrayOutputStream();
            try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
                out.write(raw);
            }
            return gz.toByteArray();
        }
    }

    private final List<Layer> layers = new ArrayList<>();

    public Layer layer(boolean gzip) {
        Layer l = new Layer(gzip);
        layers.add(l);
        return l;
    }

    /** Writes the layout; returns the layer blob files, bottom first. */
    public List<Path> write(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("blobs/sha256"));
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        ObjectNode manifest = JSON.createObjectNode();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", "application/vnd.oci.image.manifest.v1+json");
        byte[] config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"
                .getBytes(StandardCharsets.UTF_8);
        manifest.set("config", descriptor("application/vnd.oci.image.config.v1+json", blob(dir, config), config.length));
        ArrayNode ls = manifest.putArray("layers");
        List<Path> files = new ArrayList<>();
        for (Layer l : layers) {
            byte[] b = l.finish();
            Digest d = blob(dir, b);
            files.add(dir.resolve("blobs/sha256").resolve(d.hex()));
            ls.add(descriptor(l.gzip ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar",
                    d, b.length));
        }
        byte[] m = JSON.writeValueAsBytes(manifest);
        ObjectNode index = JSON.createObjectNode();
        index.put("schemaVersion", 2);
        index.putArray("manifests").add(descriptor("application/vnd.oci.image.manifest.v1+json", blob(dir, m), m.length));
        Files.write(dir.resolve("index.json"), JSON.writeValueAsBytes(index));
        return files;
    }

    private static ObjectNode descriptor(String type, Digest d, long size) {
        ObjectNode n = JSON.createObjectNode();
        n.put("mediaType", type);
        n.put("digest", d.toString());
        n.put("size", size);
        return n;
    }

    private static Digest blob(Path dir, byte[] content) throws IOException {
        Digest d = Digest.sha256(content);
        Files.write(dir.resolve("blobs/sha256").resolve(d.hex()), content);
        return d;
    }
}
