package dev.hostd.daemon;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.serde.annotation.Serdeable;

/**
 * An RFC 9457 problem: {@code type} is {@code https://hostd.dev/problems/<code>}, {@code code} the
 * stable code alone. {@code limit} names the setting that was hit (429, 413; and hostd.cgroups.enabled
 * for a 400 on sandbox limits without cgroups), else it is absent.
 */
@Serdeable
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Problem(String type, String title, int status, String detail, String code, String instance, String limit) {
    public static final String MEDIA_TYPE = "application/problem+json";

    public static Problem of(ProblemCode code, String detail, String instance, String limit) {
        return new Problem(code.type(), code.title(), code.status(), detail, code.code(), instance, limit);
    }
}
