# frozen_string_literal: true

# The function's handler: "FILE.METHOD" (a top-level method of FILE.rb) or
# "FILE.CLASS.METHOD" (CLASS may be a namespace path such as Module::Class), called with
# keyword arguments event: and context:, as aws_lambda_ric does. FILE is required through
# RUBYLIB (the task root first).

require 'json'
require_relative 'errors'

module LaminaRuby
  class Handler
    attr_reader :file_name, :method_name

    def initialize(spec)
      parts = spec.to_s.split('.')
      case parts.size
      when 2 then @file_name, @method_name = parts
      when 3 then @file_name, @class_name, @method_name = parts
      else
        raise ArgumentError, "Invalid handler #{parts}, must be of form FILENAME.METHOD or " \
                             'FILENAME.CLASS.METHOD where FILENAME corresponds with an existing ' \
                             'Ruby source file FILENAME.rb, CLASS is an optional module/class ' \
                             'namespace and METHOD is a callable method relative to the namespace.'
      end
    end

    def load
      require @file_name
    end

    # The handler's result as [body, content type]: IO-like results are sent as they are,
    # anything else as its JSON.
    def call(event, context)
      result = invoke(event, context)
      if result.is_a?(IO) || result.is_a?(StringIO)
        [result.read, 'application/unknown']
      else
        [result.to_json, 'application/json']
      end
    rescue NoMethodError, NameError => e
      raise HandlerCriticalError.new(e, 'Function')
    rescue StandardError => e
      raise HandlerError.new(e, 'Function')
    rescue Exception => e # rubocop:disable Lint/RescueException -- as aws_lambda_ric
      raise HandlerCriticalError.new(e, 'Function')
    end

    private

    def invoke(event, context)
      if @class_name
        Kernel.const_get(@class_name).send(@method_name, event: event, context: context)
      else
        TOPLEVEL_BINDING.receiver.send(@method_name, event: event, context: context)
      end
    end
  end
end
