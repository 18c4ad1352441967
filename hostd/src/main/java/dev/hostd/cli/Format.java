package dev.hostd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Locale;

/** Human renderings of sizes, durations and JSON fields. */
final class Format {
    private Format() {}

    /** The field as text, "-" when absent or null. */
    static String text(JsonNode node, String... path) {
        JsonNode v = at(node, path);
        return v == null || v.isNull() || v.isMissingNode() ? "-" : v.isValueNode() ? v.asText() : v.toString();
    }

    static JsonNode at(JsonNode node, String... path) {
        JsonNode v = node;
        for (String p : path) {
            if (v == null) {
                return null;
            }
            v = v.get(p);
        }
        return v;
    }

    static String bytes(JsonNode node, String... path) {
        JsonNode v = at(node, path);
        return v == null || !v.isNumber() ? "-" : bytes(v.asLong());
    }

    static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = b;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, v >= 100 ? "%.0f %s" : "%.1f %s", v, units[u]);
    }

    static String duration(long seconds) {
        if (seconds < 0) {
            return "-";
        }
        Duration d = Duration.ofSeconds(seconds);
        if (d.toDays() > 0) {
            return d.toDays() + "d" + d.toHoursPart() + "h";
        }
        if (d.toHours() > 0) {
            return d.toHours() + "h" + String.format(Locale.ROOT, "%02dm", d.toMinutesPart());
        }
        if (d.toMinutes() > 0) {
            return d.toMinutes() + "m" + String.format(Locale.ROOT, "%02ds", d.toSecondsPart());
        }
        return seconds + "s";
    }

    /** How long ago an ISO-8601 instant was, or the text itself if it is not one. */
    static String age(String isoInstant, Instant now) {
        if (isoInstant == null || isoInstant.equals("-")) {
            return "-";
        }
        try {
            return duration(Math.max(0, Duration.between(Instant.parse(isoInstant), now).toSeconds()));
        } catch (DateTimeParseException e) {
            return isoInstant;
        }
    }

    static String millis(JsonNode node, String... path) {
        JsonNode v = at(node, path);
        return v == null || !v.isNumber() ? "-" : String.format(Locale.ROOT, "%.2f", v.asDouble());
    }
}
