# frozen_string_literal: true

# Error documents as aws_lambda_ric builds them: {errorMessage, errorType, stackTrace} with
# errorType "<Phase><ExceptionClass>" (Init<LoadError>, Function<RuntimeError>), and the stack
# trace cut where the runtime's own frames begin.

require 'json'

module LaminaRuby
  # Frames from this directory are the runtime's, never shown to the function's owner.
  RUNTIME_DIR = File.expand_path('..', __dir__)
  MAX_FRAMES = 100

  class FunctionError < StandardError
    attr_reader :original

    def initialize(original, phase)
      @original = original
      @phase = phase
      super(original.message)
    end

    def error_type
      "#{@phase}<#{@original.class}>"
    end

    def to_document
      { 'errorMessage' => @original.message, 'errorType' => error_type,
        'stackTrace' => stack_trace }
    end

    # Logged to stderr as the RIC does: the message line, then the pretty document.
    def log(message)
      $stderr.puts(message)
      $stderr.puts(JSON.pretty_generate(to_document))
    end

    private

    def stack_trace
      frames = []
      (@original.backtrace || []).first(MAX_FRAMES).each do |frame|
        break if frame.start_with?(RUNTIME_DIR)

        frames << frame
      end
      frames
    end
  end

  # An error raised by the handler: reported, and the runtime goes on serving.
  class HandlerError < FunctionError; end

  # NoMethodError, NameError or a non-StandardError from the handler: reported, then the
  # runtime exits (the next invocation starts a new environment), as in aws_lambda_ric.
  class HandlerCriticalError < FunctionError; end
end
