package com.amazonaws.services.lambda.runtime;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** The runtime's logger, reachable without a Context. Each message is one log line at least
 * (AWS's logger makes each call one log event): a newline is added when it has none. */
public final class LambdaRuntime {
    private static final LambdaLogger LOGGER = new LambdaLogger() {
        @Override
        public void log(String message) {
            log(message == null ? "null".getBytes(StandardCharsets.UTF_8)
                    : message.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public void log(byte[] message) {
            PrintStream out = System.out;
            synchronized (out) {
                out.write(message, 0, message.length);
                if (message.length == 0 || message[message.length - 1] != '\n') {
                    out.write('\n');
                }
                out.flush();
            }
        }
    };

    private LambdaRuntime() {
    }

    public static LambdaLogger getLogger() {
        return LOGGER;
    }
}
