package com.amazonaws.services.lambda.runtime.logging;

/** The levels of advanced logging controls. */
public enum LogLevel {
    UNDEFINED,
    TRACE,
    DEBUG,
    INFO,
    WARN,
    ERROR,
    FATAL;

    public static LogLevel fromString(String name) {
        return LogLevel.valueOf(name.toUpperCase());
    }
}
