package dev.hostd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ExitCodesTest {
    @Test
    void everyProblemCodeOfTheApiHasItsExitCode() {
        assertEquals(4, ExitCodes.forProblem("invalid-input", 400));
        assertEquals(2, ExitCodes.forProblem("not-found", 404));
        assertEquals(3, ExitCodes.forProblem("conflict", 409));
        assertEquals(5, ExitCodes.forProblem("limit-exceeded", 429));
        assertEquals(5, ExitCodes.forProblem("unavailable", 503));
        assertEquals(7, ExitCodes.forProblem("guest-failure", 502));
        assertEquals(7, ExitCodes.forProblem("timeout", 504));
        assertEquals(7, ExitCodes.forProblem("corrupt", 422));
        assertEquals(5, ExitCodes.forProblem("unsupported-host", 422), "the host cannot run it: like host-unavailable, not bad input");
        assertEquals(5, ExitCodes.forProblem("host-unavailable", 503));
        assertEquals(7, ExitCodes.forProblem("internal", 500));
        assertEquals(4, ExitCodes.forProblem("payload-too-large", 413));
        assertEquals(4, ExitCodes.forProblem("unsupported-media-type", 415));
    }

    @Test
    void unknownCodesFallBackToTheStatus() {
        assertEquals(2, ExitCodes.forProblem("some-new-code", 404));
        assertEquals(3, ExitCodes.forProblem(null, 409));
        assertEquals(5, ExitCodes.forProblem(null, 429));
        assertEquals(5, ExitCodes.forProblem(null, 503));
        assertEquals(4, ExitCodes.forProblem(null, 400));
        assertEquals(4, ExitCodes.forProblem(null, 418));
        assertEquals(7, ExitCodes.forProblem(null, 500));
        assertEquals(7, ExitCodes.forProblem(null, 502));
    }
}
