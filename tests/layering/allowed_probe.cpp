// Links llm_exporter::pipeline, so it may include the pipeline's headers.
#include "pipeline/event_pipeline.h"

int LayeringProbeAllowed() { return sizeof(llm_exporter::pipeline::EventPipeline) > 0; }
