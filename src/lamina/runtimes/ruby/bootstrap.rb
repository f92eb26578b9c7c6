# frozen_string_literal: true

# Lamina's built-in Ruby runtime: the process inside a ruby3.x environment.
#
# The server starts it as `ruby bootstrap.rb` with the Lambda environment
# (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, RUBYLIB, GEM_PATH, ...). It loads the
# handler once (an exception there is posted to /runtime/init/error as Init<Class> and the
# process exits), then loops on the Runtime API: next event, handler, result or error
# (Function<Class>). What it reports follows AWS's Ruby runtime interface client
# (aws_lambda_ric 3.x): handler forms, the context object, error documents and the log lines
# written to stderr for errors. Standard library only; output is unbuffered, so every line
# written before a response is in the log pipe when the response is posted.

$stdout.sync = true
$stderr.sync = true

require 'json'
require 'stringio'
require_relative 'lamina_ruby/runtime_client'
require_relative 'lamina_ruby/context'
require_relative 'lamina_ruby/errors'
require_relative 'lamina_ruby/handler'

module LaminaRuby
  # Lamina's own variables are not the function's business.
  ENV.delete('LAMINA_SDK_PATH')
  ENV.delete('LAMINA_OPT_ROOT')

  def self.parse_event(body, content_type)
    return body unless content_type.nil? || content_type.start_with?('application/json')

    body.empty? ? nil : JSON.parse(body)
  end

  def self.serve(client, handler)
    loop do
      request_id, headers, body = client.next_invocation
      trace_id = headers['Lambda-Runtime-Trace-Id']
      trace_id ? ENV['_X_AMZN_TRACE_ID'] = trace_id : ENV.delete('_X_AMZN_TRACE_ID')
      begin
        event = parse_event(body, headers['Content-Type'])
        result, content_type = handler.call(event, Context.new(headers))
        client.post_response(request_id, result, content_type)
      rescue HandlerCriticalError => e
        e.log('Critical exception from handler')
        client.post_invocation_error(request_id, e.to_document, e.error_type)
        exit!(1)
      rescue FunctionError => e
        e.log('Error raised from handler method')
        client.post_invocation_error(request_id, e.to_document, e.error_type)
      rescue JSON::ParserError => e
        error = FunctionError.new(e, 'Runtime')
        error.log('Could not parse the event')
        client.post_invocation_error(request_id, error.to_document, error.error_type)
      end
    end
  end

  def self.main
    client = RuntimeClient.new(ENV.fetch('AWS_LAMBDA_RUNTIME_API'))
    begin
      handler = Handler.new(ENV.fetch('_HANDLER', ''))
      handler.load
    rescue Exception => e # rubocop:disable Lint/RescueException -- any init failure
      error = FunctionError.new(e, 'Init')
      error.log('Init error when loading handler')
      client.post_init_error(error.to_document, error.error_type)
      exit!(1)
    end
    serve(client, handler)
  end
end

LaminaRuby.main
