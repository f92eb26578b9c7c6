# frozen_string_literal: true

# Lamina's Ruby runtime: the Runtime API client, a small HTTP/1.1 client on one keep-alive
# TCP connection to AWS_LAMBDA_RUNTIME_API (the socket library only: net/http would add
# ~40 ms to every cold start).
#
# Contract: next_invocation blocks until an event arrives and returns [request_id, headers,
# body] (header names as sent, looked up case-insensitively); the post_* methods send a result
# or an error document and return once the Runtime API has answered. Any transport failure
# raises (the caller exits the process, as AWS's runtime interface client does when the
# Runtime API goes away). The connection is reopened when the server closed it.

require 'socket'
require 'json'

module LaminaRuby
  # Response headers, looked up without regard to case.
  class Headers
    def initialize(pairs)
      @values = {}
      pairs.each { |name, value| @values[name.downcase] = value }
    end

    def [](name)
      @values[name.downcase]
    end
  end

  class RuntimeClient
    API_PREFIX = '/2018-06-01'
    ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type'
    MAX_HEADER_LINES = 200

    def initialize(address)
      @host, port = address.split(':', 2)
      @port = Integer(port)
      @user_agent = "lamina-ruby/#{RUBY_VERSION}"
      @socket = nil
    end

    def next_invocation
      status, headers, body = request('GET', "#{API_PREFIX}/runtime/invocation/next", nil, {})
      raise IOError, "Runtime API answered #{status} to next invocation" unless status == 200

      [headers['Lambda-Runtime-Aws-Request-Id'], headers, body]
    end

    def post_response(request_id, body, content_type)
      request('POST', "#{API_PREFIX}/runtime/invocation/#{request_id}/response", body,
              'Content-Type' => content_type)
    end

    def post_invocation_error(request_id, document, error_type)
      request('POST', "#{API_PREFIX}/runtime/invocation/#{request_id}/error",
              JSON.generate(document),
              'Content-Type' => 'application/json', ERROR_TYPE_HEADER => error_type)
    end

    def post_init_error(document, error_type)
      request('POST', "#{API_PREFIX}/runtime/init/error", JSON.generate(document),
              'Content-Type' => 'application/json', ERROR_TYPE_HEADER => error_type)
    end

    private

    def connection
      @socket ||= TCPSocket.new(@host, @port).tap do |socket|
        socket.setsockopt(Socket::IPPROTO_TCP, Socket::TCP_NODELAY, 1)
      end
    end

    def request(method, path, body, headers)
      retried = false
      begin
        exchange(method, path, body, headers)
      rescue EOFError, Errno::ECONNRESET, Errno::EPIPE
        @socket&.close
        @socket = nil
        raise if retried

        retried = true
        retry
      end
    end

    def exchange(method, path, body, headers)
      payload = body.nil? ? '' : body.b
      head = +"#{method} #{path} HTTP/1.1\r\nHost: #{@host}:#{@port}\r\n"
      head << "User-Agent: #{@user_agent}\r\n"
      headers.each { |name, value| head << "#{name}: #{value.to_s.delete("\r\n")}\r\n" }
      head << "Content-Length: #{payload.bytesize}\r\n\r\n"
      socket = connection
      socket.write(head.b + payload)
      read_response(socket)
    end

    def read_response(socket)
      status_line = socket.gets("\r\n") or raise EOFError, 'Runtime API closed the connection'
      status = status_line.split(' ', 3)[1].to_i
      pairs = []
      MAX_HEADER_LINES.times do
        line = socket.gets("\r\n") or raise EOFError, 'Runtime API closed the connection'
        line = line.chomp("\r\n")
        break if line.empty?

        name, value = line.split(':', 2)
        pairs << [name, value.to_s.strip]
      end
      headers = Headers.new(pairs)
      body = read_body(socket, headers)
      close_after(headers)
      [status, headers, body.force_encoding(Encoding::UTF_8)]
    end

    def read_body(socket, headers)
      if headers['Transfer-Encoding'].to_s.downcase.include?('chunked')
        read_chunked(socket)
      else
        length = headers['Content-Length'].to_i
        length.positive? ? read_exactly(socket, length) : +''
      end
    end

    def read_chunked(socket)
      body = +''.b
      loop do
        size_line = socket.gets("\r\n") or raise EOFError, 'Runtime API closed the connection'
        size = size_line.split(';', 2)[0].to_i(16)
        if size.zero?
          # Trailers, up to the blank line.
          while (line = socket.gets("\r\n")) && line != "\r\n"; end
          return body
        end
        body << read_exactly(socket, size)
        socket.read(2)
      end
    end

    def read_exactly(socket, length)
      data = socket.read(length)
      raise EOFError, 'Runtime API closed the connection' if data.nil? || data.bytesize < length

      data
    end

    def close_after(headers)
      return unless headers['Connection'].to_s.downcase == 'close'

      @socket&.close
      @socket = nil
    end
  end
end
