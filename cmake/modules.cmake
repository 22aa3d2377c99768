# The modules of src/ (one per folder) and what each may include: the
# layering of docs/architecture.md, checked at every build. A source file
# that includes a header of a module its own may not use fails the build
# (cmake/check_modules.cmake) with its file and line. There are no cycles:
# a module may only include modules listed before it.
#
# Change a line here only with the architecture page.
set(PB_MODULES
  "common:"
  "json:"
  "crypto:"
  "log:common"
  "metrics:common"
  "sse:common json"
  "config:common crypto json log"
  "diff:common config json"
  "auth:common config crypto json log"
  "hub:common metrics log"
  "upstream:common config log metrics"
  "stream:common config diff json log sse"
  "ingest:common config diff json stream upstream"
  "cluster:common config json log sse stream"
  "core:auth common config diff hub ingest json log metrics sse stream upstream"
  "server:auth common config core diff hub json log metrics sse stream"
  "app:auth cluster common config core json log server stream upstream"
)
