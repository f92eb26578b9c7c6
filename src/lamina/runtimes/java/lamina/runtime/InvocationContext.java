package lamina.runtime;

import com.amazonaws.services.lambda.runtime.Client;
import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.LambdaRuntime;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** The Context of one invocation, from the Runtime API's headers and the environment. */
final class InvocationContext implements Context {
    private static final Map<String, String> ENV = System.getenv();
    private static final String FUNCTION_NAME = ENV.get("AWS_LAMBDA_FUNCTION_NAME");
    private static final String FUNCTION_VERSION = ENV.get("AWS_LAMBDA_FUNCTION_VERSION");
    private static final String LOG_GROUP = ENV.get("AWS_LAMBDA_LOG_GROUP_NAME");
    private static final String LOG_STREAM = ENV.get("AWS_LAMBDA_LOG_STREAM_NAME");
    private static final int MEMORY_MB = parseInt(ENV.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 128);

    private final String requestId;
    private final String invokedArn;
    private final long deadlineMs;
    private final String traceId;
    private final CognitoIdentity identity;
    private final ClientContext clientContext;
    private final String tenantId;

    InvocationContext(RuntimeApi.Reply next) {
        this.requestId = next.header("Lambda-Runtime-Aws-Request-Id");
        this.invokedArn = next.header("Lambda-Runtime-Invoked-Function-Arn");
        this.deadlineMs = parseLong(next.header("Lambda-Runtime-Deadline-Ms"),
                System.currentTimeMillis() + 3000);
        this.traceId = next.header("Lambda-Runtime-Trace-Id");
        this.identity = identity(next.header("Lambda-Runtime-Cognito-Identity"));
        this.clientContext = clientContext(next.header("Lambda-Runtime-Client-Context"));
        this.tenantId = next.header("Lambda-Runtime-Aws-Tenant-Id");
    }

    private static int parseInt(String text, int otherwise) {
        try {
            return Integer.parseInt(text);
        } catch (RuntimeException bad) {
            return otherwise;
        }
    }

    private static long parseLong(String text, long otherwise) {
        try {
            return Long.parseLong(text);
        } catch (RuntimeException bad) {
            return otherwise;
        }
    }

    private static Map<?, ?> object(String json) {
        if (json == null || json.isEmpty()) {
            return null;
        }
        try {
            Object tree = Json.parse(json);
            return tree instanceof Map ? (Map<?, ?>) tree : null;
        } catch (RuntimeException bad) {
            return null;
        }
    }

    private static String text(Map<?, ?> map, String key) {
        Object value = map == null ? null : map.get(key);
        return value == null ? null : value.toString();
    }

    private static Map<String, String> strings(Object value) {
        Map<String, String> out = new LinkedHashMap<>();
        if (value instanceof Map) {
            for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                out.put(String.valueOf(entry.getKey()),
                        entry.getValue() == null ? null : entry.getValue().toString());
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static CognitoIdentity identity(String json) {
        Map<?, ?> map = object(json);
        String id = text(map, "cognitoIdentityId");
        String pool = text(map, "cognitoIdentityPoolId");
        return new CognitoIdentity() {
            @Override
            public String getIdentityId() {
                return id == null ? "" : id;
            }

            @Override
            public String getIdentityPoolId() {
                return pool == null ? "" : pool;
            }
        };
    }

    private static ClientContext clientContext(String json) {
        Map<?, ?> map = object(json);
        if (map == null) {
            return null;
        }
        Object clientValue = map.get("client");
        Map<?, ?> client = clientValue instanceof Map ? (Map<?, ?>) clientValue : null;
        Map<String, String> custom = strings(map.get("custom"));
        Map<String, String> env = strings(map.get("env"));
        Client described = client == null ? null : new Client() {
            @Override
            public String getInstallationId() {
                return text(client, "installation_id");
            }

            @Override
            public String getAppTitle() {
                return text(client, "app_title");
            }

            @Override
            public String getAppVersionName() {
                return text(client, "app_version_name");
            }

            @Override
            public String getAppVersionCode() {
                return text(client, "app_version_code");
            }

            @Override
            public String getAppPackageName() {
                return text(client, "app_package_name");
            }
        };
        return new ClientContext() {
            @Override
            public Client getClient() {
                return described;
            }

            @Override
            public Map<String, String> getCustom() {
                return custom;
            }

            @Override
            public Map<String, String> getEnvironment() {
                return env;
            }
        };
    }

    @Override
    public String getAwsRequestId() {
        return requestId;
    }

    @Override
    public String getLogGroupName() {
        return LOG_GROUP;
    }

    @Override
    public String getLogStreamName() {
        return LOG_STREAM;
    }

    @Override
    public String getFunctionName() {
        return FUNCTION_NAME;
    }

    @Override
    public String getFunctionVersion() {
        return FUNCTION_VERSION;
    }

    @Override
    public String getInvokedFunctionArn() {
        return invokedArn;
    }

    @Override
    public CognitoIdentity getIdentity() {
        return identity;
    }

    @Override
    public ClientContext getClientContext() {
        return clientContext;
    }

    @Override
    public int getRemainingTimeInMillis() {
        return (int) Math.max(0, deadlineMs - System.currentTimeMillis());
    }

    @Override
    public int getMemoryLimitInMB() {
        return MEMORY_MB;
    }

    @Override
    public LambdaLogger getLogger() {
        return LambdaRuntime.getLogger();
    }

    @Override
    public String getXrayTraceId() {
        return traceId;
    }

    @Override
    public String getTenantId() {
        return tenantId;
    }
}
