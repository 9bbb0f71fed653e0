// Reading request bodies under a size limit and writing complete responses on one civetweb
// connection. Only the HTTP transport includes this (civetweb stays out of the shared headers).
#pragma once

#include <civetweb.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llm_exporter::transport {

// kIncomplete: the connection closed, went silent for the request timeout, or was cut off at its
// body deadline (BodyDeadline) before Content-Length bytes (or the last chunk) arrived.
enum class BodyRead { kOk, kTooLarge, kIncomplete, kFailed };

// Reads the whole body into *body, straight into its storage, reserving `padding` spare bytes
// for the parser. Stops with kTooLarge as soon as the body (by Content-Length or by bytes read)
// exceeds `limit`.
BodyRead ReadBody(mg_connection* conn, std::size_t limit, std::size_t padding, std::string* body);

using Headers = std::vector<std::pair<std::string_view, std::string_view>>;

// Sends status, headers, Content-Length and body. `head_only` leaves out the body (HEAD).
void Respond(mg_connection* conn, int status, std::string_view content_type,
             std::string_view body, const Headers& extra = {}, bool head_only = false);

}  // namespace llm_exporter::transport
