package com.amazonaws.services.lambda.runtime;

/** What a handler knows about its invocation and its function (Lamina's implementation of
 * the public interface of aws-lambda-java-core). */
public interface Context {
    String getAwsRequestId();

    String getLogGroupName();

    String getLogStreamName();

    String getFunctionName();

    String getFunctionVersion();

    String getInvokedFunctionArn();

    CognitoIdentity getIdentity();

    ClientContext getClientContext();

    int getRemainingTimeInMillis();

    int getMemoryLimitInMB();

    LambdaLogger getLogger();

    default String getXrayTraceId() {
        return null;
    }

    default String getTenantId() {
        return null;
    }
}
