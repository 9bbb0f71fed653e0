// Giving a worker thread's unused stack pages back to the kernel. civetweb hands each
// connection to one of --web.threads workers, taking them in turn, so over time every worker's
// stack holds the deepest request it ever served (a TLS handshake, a scrape) and resident memory
// follows the worker count: ~100 KiB a worker against ~12 KiB for an idle one.
#pragma once

namespace llm_exporter::transport {

// Releases the calling thread's stack pages more than 4 KiB below the current frame (dead
// frames of calls that returned). Cheap enough for once a connection, not for once a request:
// the pages fault back in, zeroed, as the next request needs them. Safe on any thread whose
// stack pthread_getattr_np() describes; does nothing where it cannot tell.
void ReleaseUnusedStack();

}  // namespace llm_exporter::transport
