// Links only llm_exporter::aggregate, which does not depend on the pipeline: this include must
// not be found. (The store knowing the pipeline would make the dependency go both ways.)
#include "pipeline/event_pipeline.h"

int LayeringProbeForbidden() { return sizeof(llm_exporter::pipeline::EventPipeline) > 0; }
