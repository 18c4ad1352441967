package dev.hostd.image.oci;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A small strict tar reader for OCI layers: ustar and GNU headers, GNU long names ('L', 'K'),
 * PAX extended headers ('x', 'g') with xattrs kept as raw bytes. Every header's checksum is
 * checked; anything else (v7 headers, sparse files, oversized metadata) is an IOException naming
 * what was wrong. It only parses: paths are judged by {@link LayerMerger}.
 */
final class TarReader {
    static final int BLOCK = 512;
    private static final int MAX_META = 1 << 20;

    /** One entry; {@code type} is the ustar typeflag ('0', '5', '2', '1', '3', '4', '6'). */
    record Entry(String name, String linkName, byte type, int mode, long uid, long gid, long size, long mtimeSeconds,
                 int mtimeNanos, long devMajor, long devMinor, TreeMap<String, byte[]> xattrs) {
    }

    private final InputStream in;
    private final byte[] header = new byte[BLOCK];
    private final Map<String, byte[]> global = new HashMap<>();
    private long remaining;
    private long padding;
    private boolean ended;

    TarReader(InputStream in) {
        this.in = in;
    }

    /** The next entry, or null at the end of the archive. Unread content of the previous one is skipped. */
    Entry next() throws IOException {
        skipRest();
        if (ended) {
            return null;
        }
        Map<String, byte[]> pax = new HashMap<>();
        String longName = null;
        String longLink = null;
        while (true) {
            if (!readHeader()) {
                ended = true;
                return null;
            }
            byte type = header[156];
            long size = number(124, 12, "size");
            switch (type) {
                case 'x' -> pax.putAll(parsePax(readMeta(size, "PAX header")));
                case 'g' -> global.putAll(parsePax(readMeta(size, "PAX global header")));
                case 'L' -> longName = cString(readMeta(size, "GNU long name"));
                case 'K' -> longLink = cString(readMeta(size, "GNU long link name"));
                default -> {
                    return entry(type, size, pax, longName, longLink);
                }
            }
        }
    }

    private Entry entry(byte type, long headerSize, Map<String, byte[]> local, String longName, String longLink)
            throws IOException {
        Map<String, byte[]> pax = new HashMap<>(global);
        pax.putAll(local);
        for (String k : pax.keySet()) {
            if (k.startsWith("GNU.sparse")) {
                throw new IOException("sparse files are not supported");
            }
        }
        String name = longName != null ? longName : headerName();
        String link = longLink != null ? longLink : field(157, 100);
        if (pax.containsKey("path")) {
            name = utf8(pax.get("path"));
        }
        if (pax.containsKey("linkpath")) {
            link = utf8(pax.get("linkpath"));
        }
        long size = pax.containsKey("size") ? decimal(pax.get("size"), "size") : headerSize;
        long uid = pax.containsKey("uid") ? decimal(pax.get("uid"), "uid") : number(108, 8, "uid");
        long gid = pax.containsKey("gid") ? decimal(pax.get("gid"), "gid") : number(116, 8, "gid");
        long mtime = number(136, 12, "mtime");
        int nanos = 0;
        if (pax.containsKey("mtime")) {
            String t = utf8(pax.get("mtime"));
            int dot = t.indexOf('.');
            mtime = decimal((dot < 0 ? t : t.substring(0, dot)).getBytes(StandardCharsets.US_ASCII), "mtime");
            if (dot >= 0) {
                String frac = (t.substring(dot + 1) + "000000000").substring(0, 9);
                nanos = (int) decimal(frac.getBytes(StandardCharsets.US_ASCII), "mtime");
            }
        }
        TreeMap<String, byte[]> xattrs = new TreeMap<>();
        for (Map.Entry<String, byte[]> e : pax.entrySet()) {
            if (e.getKey().startsWith("SCHILY.xattr.")) {
                xattrs.put(e.getKey().substring(13), e.getValue());
            } else if (e.getKey().startsWith("LIBARCHIVE.xattr.")) {
                try {
                    xattrs.put(e.getKey().substring(17), Base64.getDecoder().decode(e.getValue()));
                } catch (IllegalArgumentException bad) {
                    throw new IOException("PAX " + e.getKey() + " is not base64");
                }
            }
        }
        boolean hasData = type == '0' || type == 0 || type == '7';
        if (size < 0) {
            throw new IOException("negative size");
        }
        // Unknown types are returned (the caller names them); their content is skipped.
        remaining = size;
        padding = (BLOCK - size % BLOCK) % BLOCK;
        return new Entry(name, link, type, (int) number(100, 8, "mode"), uid, gid, hasData ? size : 0, mtime, nanos,
                number(329, 8, "devmajor"), number(337, 8, "devminor"), xattrs);
    }

    /** Content of the current entry: at most its size. */
    int read(byte[] b, int off, int len) throws IOException {
        if (remaining <= 0) {
            return -1;
        }
        int n = in.read(b, off, (int) Math.min(len, remaining));
        if (n < 0) {
            throw new EOFException("archive ends inside an entry's content");
        }
        remaining -= n;
        return n;
    }

    private void skipRest() throws IOException {
        skip(remaining + padding);
        remaining = 0;
        padding = 0;
    }

    private void skip(long n) throws IOException {
        byte[] buf = new byte[8192];
        while (n > 0) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, n));
            if (r < 0) {
                throw new EOFException("archive ends inside an entry");
            }
            n -= r;
        }
    }

    /** Reads a header block; false at the end (a zero block or a clean EOF between entries). */
    private boolean readHeader() throws IOException {
        int n = in.readNBytes(header, 0, BLOCK);
        if (n == 0) {
            return false;
        }
        if (n < BLOCK) {
            throw new EOFException("archive ends inside a header");
        }
        boolean zero = true;
        for (byte b : header) {
            if (b != 0) {
                zero = false;
                break;
            }
        }
        if (zero) {
            return false;
        }
        long stored = number(148, 8, "checksum");
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) {
            sum += (i >= 148 && i < 156) ? ' ' : (header[i] & 0xff);
        }
        if (stored != sum) {
            throw new IOException("header checksum mismatch (corrupt or not a tar archive)");
        }
        String magic = new String(header, 257, 6, StandardCharsets.US_ASCII);
        if (!magic.equals("ustar\0") && !magic.equals("ustar ")) {
            throw new IOException("not a ustar, GNU or PAX header (old v7 tar is not supported)");
        }
        return true;
    }

    private byte[] readMeta(long size, String what) throws IOException {
        if (size < 0 || size > MAX_META) {
            throw new IOException(what + " of " + size + " bytes is larger than " + MAX_META);
        }
        byte[] b = in.readNBytes((int) size);
        if (b.length != size) {
            throw new EOFException("archive ends inside a " + what);
        }
        skip((BLOCK - size % BLOCK) % BLOCK);
        return b;
    }

    /** PAX records "<len> <key>=<value>\n"; values are raw bytes (xattrs may be binary). */
    private static Map<String, byte[]> parsePax(byte[] b) throws IOException {
        Map<String, byte[]> out = new HashMap<>();
        int pos = 0;
        while (pos < b.length) {
            int sp = pos;
            while (sp < b.length && b[sp] != ' ') {
                sp++;
            }
            if (sp == b.length) {
                throw new IOException("malformed PAX record");
            }
            long len = decimal(Arrays.copyOfRange(b, pos, sp), "PAX record length");
            int end = (int) (pos + len);
            if (len < 5 || end > b.length || b[end - 1] != '\n') {
                throw new IOException("malformed PAX record length " + len);
            }
            int eq = sp + 1;
            while (eq < end && b[eq] != '=') {
                eq++;
            }
            if (eq >= end) {
                throw new IOException("PAX record without '='");
            }
            out.put(new String(b, sp + 1, eq - sp - 1, StandardCharsets.UTF_8), Arrays.copyOfRange(b, eq + 1, end - 1));
            pos = end;
        }
        return out;
    }

    private String headerName() {
        String name = field(0, 100);
        String magic = new String(header, 257, 6, StandardCharsets.US_ASCII);
        String prefix = magic.equals("ustar\0") ? field(345, 155) : "";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    private String field(int off, int len) {
        int end = off;
        while (end < off + len && header[end] != 0) {
            end++;
        }
        return new String(header, off, end - off, StandardCharsets.UTF_8);
    }

    /** Octal (NUL/space padded) or GNU base-256 (high bit of the first byte set). */
    private long number(int off, int len, String what) throws IOException {
        if ((header[off] & 0x80) != 0) {
            if ((header[off] & 0x40) != 0) {
                throw new IOException("negative base-256 " + what);
            }
            long v = header[off] & 0x3f;
            for (int i = 1; i < len; i++) {
                if (v > (Long.MAX_VALUE >> 8)) {
                    throw new IOException(what + " too large");
                }
                v = (v << 8) | (header[off + i] & 0xff);
            }
            return v;
        }
        long v = 0;
        int i = off;
        while (i < off + len && (header[i] == ' ' || header[i] == 0)) {
            i++;
        }
        for (; i < off + len && header[i] != 0 && header[i] != ' '; i++) {
            if (header[i] < '0' || header[i] > '7') {
                throw new IOException("bad octal digit in " + what);
            }
            v = (v << 3) | (header[i] - '0');
        }
        return v;
    }

    private static long decimal(byte[] b, String what) throws IOException {
        if (b.length == 0 || b.length > 18) {
            throw new IOException("bad decimal " + what);
        }
        long v = 0;
        for (byte c : b) {
            if (c < '0' || c > '9') {
                throw new IOException("bad decimal " + what + ": '" + new String(b, StandardCharsets.US_ASCII) + "'");
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    private static String cString(byte[] b) {
        int end = 0;
        while (end < b.length && b[end] != 0) {
            end++;
        }
        return new String(b, 0, end, StandardCharsets.UTF_8);
    }

    private static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
