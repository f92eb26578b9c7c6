# frozen_string_literal: true

# The context object handed to handlers, with the members of aws_lambda_ric's LambdaContext:
# aws_request_id, invoked_function_arn, log_group_name, log_stream_name, function_name,
# memory_limit_in_mb (a String, as on AWS), function_version, identity, client_context,
# tenant_id, deadline_ms, and get_remaining_time_in_millis.

require 'json'

module LaminaRuby
  class Context
    attr_reader :aws_request_id, :invoked_function_arn, :log_group_name, :log_stream_name,
                :function_name, :memory_limit_in_mb, :function_version, :identity,
                :client_context, :tenant_id, :deadline_ms

    def initialize(headers)
      @deadline_ms = headers['Lambda-Runtime-Deadline-Ms'].to_i
      @aws_request_id = headers['Lambda-Runtime-Aws-Request-Id']
      @invoked_function_arn = headers['Lambda-Runtime-Invoked-Function-Arn']
      @tenant_id = headers['Lambda-Runtime-Aws-Tenant-Id']
      @log_group_name = ENV['AWS_LAMBDA_LOG_GROUP_NAME']
      @log_stream_name = ENV['AWS_LAMBDA_LOG_STREAM_NAME']
      @function_name = ENV['AWS_LAMBDA_FUNCTION_NAME']
      @memory_limit_in_mb = ENV['AWS_LAMBDA_FUNCTION_MEMORY_SIZE']
      @function_version = ENV['AWS_LAMBDA_FUNCTION_VERSION']
      @identity = parse_json(headers['Lambda-Runtime-Cognito-Identity'])
      @client_context = parse_json(headers['Lambda-Runtime-Client-Context'])
    end

    # Milliseconds left before the deadline, never negative.
    def get_remaining_time_in_millis
      remaining = @deadline_ms - Process.clock_gettime(Process::CLOCK_REALTIME, :millisecond)
      remaining.positive? ? remaining : 0
    end

    private

    def parse_json(text)
      text.nil? || text.empty? ? nil : JSON.parse(text)
    end
  end
end
