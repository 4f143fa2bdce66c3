-- types/library/hy3d.lua: LuaLS (lua-language-server) definitions of hy3d's public API, kept true by spec/tooling/types_spec.lua.
---@meta hy3d
-- Never loaded at run time: the bodies are empty. Point LuaLS at types/library (workspace.library),
-- or at types/ as an addon (workspace.userThirdParty); see doc/development.md.

---@alias hy3d.Kind
---| "pro"
---| "rapid"
---| "part"
---| "uv"
---| "reduce_face"
---| "texture"
---| "profile"
---| "motion"
---| "rigging"
---| "texture_edit"
---| "convert_job"
---| string # a family hy3d.kinds.register added
---@alias hy3d.Door "gateway"|"api3"|"tokenhub"|"local"|"mps"
---@alias hy3d.Site "mainland"|"intl"
---@alias hy3d.Status "WAIT"|"RUN"|"DONE"|"FAIL"|string
---@alias hy3d.ErrorKind "network"|"http"|"api"|"decode"|"job"|"timeout"|"invalid"|"callback"|"io"|"usage"
---@alias hy3d.Format "GLB"|"OBJ"|"STL"|"USDZ"|"FBX"|"MP4"|"GIF"|"all"|string

---@class hy3d.Options
---@field api_key? string the gateway key (env HY3D_API_KEY); on door "tokenhub" a TokenHub key
---@field base_url? string the gateway, TokenHub or self-hosted server (env HY3D_BASE_URL)
---@field auth_scheme? "Bearer" send `Authorization: Bearer <key>` (the raw key is documented)
---@field door? hy3d.Door which door (env HY3D_DOOR); by default the credentials choose
---@field site? hy3d.Site the service's site (env HY3D_SITE), default "mainland"
---@field service? string the service name TC3-HMAC-SHA256 signs for
---@field secret_id? string API 3.0 SecretId (env TENCENTCLOUD_SECRET_ID)
---@field secret_key? string API 3.0 SecretKey (env TENCENTCLOUD_SECRET_KEY)
---@field token? string an STS token, sent as X-TC-Token (env TENCENTCLOUD_SESSION_TOKEN)
---@field region? string X-TC-Region (env TENCENTCLOUD_REGION)
---@field endpoint? string the API 3.0 or MPS endpoint (env HY3D_ENDPOINT)
---@field version? string X-TC-Version
---@field language? string X-TC-Language: "en-US", "zh-CN", ... (API 3.0 only)
---@field timeout? number seconds per HTTP request (default 60)
---@field connect_timeout? number seconds to connect (default 10)
---@field poll_interval? number seconds between polls in wait (default 5)
---@field user_agent? string the User-Agent header
---@field yield? fun(delay: number?): any called instead of blocking inside a coroutine hy3d did not spawn
---@field stall? number seconds an API response may go without a byte (default 30)
---@field max_retries? integer retries after the first try (default 3)
---@field retry_base? number seconds: the backoff base (default 1)
---@field retry_max? number seconds: the longest pause between tries (default 30)
---@field on_retry? fun(attempt: integer, delay: number, err: hy3d.Error) called before each retry pause
---@field retry_jitter? fun(): number a draw in [0, 1) scaling each backoff pause (default math.random)
---@field retry_submit? boolean also retry a submit after an ambiguous failure (may create two jobs)
---@field max_concurrent_jobs? integer queue submits locally beyond N unfinished jobs
---@field validate? boolean check the documented rules before sending (default true)
---@field ca_file? string a CA bundle file
---@field ca_path? string a CA directory
---@field insecure? boolean turn TLS verification off
---@field allow_http? boolean allow plain http:// to a host that is not loopback
---@field log? fun(line: string) one line per exchange, secrets redacted
---@field debug? boolean write the log lines to stderr
---@field stuck_timeout? number local door: seconds a job may keep one status (default 900)
---@field sync_generate? boolean local door: submit with the synchronous POST /generate
---@field cache_dir? string generate's result cache folder (else HY3D_CACHE_DIR; doc/api.md#cache)
---@field max_credits? number refuse a submit whose estimate would pass this budget (else HY3D_MAX_CREDITS)

---@class hy3d.SubmitOptions
---@field kind? hy3d.Kind the job family (default "pro")
---@field dry_run? boolean every local check, nothing sent: returns the plan (action, door, params, credits)

---@class hy3d.QueryOptions
---@field kind? hy3d.Kind the family of a bare JobId (default the job's kind, else "pro")

---@class hy3d.WaitOptions
---@field interval? number seconds between polls (default the client's poll_interval)
---@field timeout? number total seconds (default 1800); on expiry nil, err of kind "timeout"
---@field on_status? fun(result: hy3d.Result) called when Status (or Progress) changes
---@field kind? hy3d.Kind the family of a bare JobId

---@class hy3d.DownloadOptions
---@field timeout? number total seconds for the whole call, retries included
---@field stall? number seconds of the low-speed window
---@field max_bytes? integer the largest file accepted
---@field on_progress? fun(done: integer, total: integer?) called while bytes arrive
---@field resume? boolean false: start over instead of resuming a partial file
---@field refresh? fun(): (string?, any) a fresh URL for an expired link (called once on 403)
---@field min_rate? number bytes/s the transfer must keep over the stall window (default 4096)
---@field min_avg_rate? number bytes/s on average once the size is known (default 1024)

---@class hy3d.DownloadFilesOptions
---@field formats? hy3d.Format[] File3D types (default {"GLB"}; {"all"} for every file)
---@field dir? string the folder (default ".")
---@field name? string the files' base name (default the JobId)
---@field extract? boolean unzip zip results into <dir>/<name>_<type>/
---@field on_progress? fun(done: integer, total: integer?, type: string) called while bytes arrive
---@field max_bytes? integer each file's limit (and with extract, each archive's unpacked size)
---@field kind? hy3d.Kind the family of a bare JobId
---@field timeout? number seconds for each download
---@field stall? number seconds of the low-speed window

---@class hy3d.GenerateOptions
---@field kind? hy3d.Kind the job family (default "pro")
---@field formats? hy3d.Format[] File3D types to download (default {"GLB"})
---@field dir? string the folder (default ".")
---@field name? string the files' base name (default the JobId)
---@field extract? boolean unzip zip results
---@field on_submit? fun(job: hy3d.Job) called as soon as the JobId exists: record it
---@field on_status? fun(result: hy3d.Result) called when Status changes
---@field on_progress? fun(done: integer, total: integer?, type: string) called while bytes arrive
---@field interval? number seconds between polls
---@field timeout? number the wait's total seconds (default 1800)
---@field max_bytes? integer each file's limit
---@field download_timeout? number seconds bounding the downloads
---@field cache? boolean false: bypass the client's cache_dir for this call
---@field dry_run? boolean the checks and submit's plan, nothing sent

---@class hy3d.CheckOptions
---@field kind? hy3d.Kind the job family (default "pro")
---@field formats? string[] the files wanted: generate's ResultFormat fix-up for them first

---@class hy3d.EstimateOptions
---@field kind? hy3d.Kind the job family (default "pro")
---@field door? hy3d.Door the door (default "api3"; "local" costs 0; tokenhub and mps are not priced)
---@field table? table prices that replace the built-in ones, family by family (hy3d.credits.table's shape)

---@class hy3d.CreditsSummary
---@field reported number credits the DONE answers reported (ResultCreditConsumed)
---@field estimated number credits estimated for finished jobs whose answers report none
---@field pending number the estimates of jobs submitted and not seen to end
---@field pending_jobs integer those jobs
---@field jobs integer jobs seen to finish (and Convert3DFormat calls)
---@field unpriced integer finished jobs neither reported nor priced
---@field max? number max_credits
---@field left? number what the budget has left for new submits

---@class hy3d.CreditsModule
---@field table table the billing table (families, doors); change it in place to change estimates
---@field estimate fun(params: string|hy3d.JobParams, opts?: hy3d.EstimateOptions): number?, table|hy3d.Error
---@field of fun(result: hy3d.Result): number?, table<string, number>? the credits a DONE answer reports

---@class hy3d.ChainOptions
---@field from? hy3d.Kind the previous job's family, for a bare JobId (default "pro")
---@field type? string the previous job's file type to send (default: the first the action takes)
---@field check_size? boolean false: skip the size check (a download capped at the limit)
---@field count_faces? fun(path: string, type: string): integer? counts faces for the face limits
---@field timeout? number seconds for the size check's download

---@class hy3d.GalleryOptions
---@field jobs? table[] job records as hy3d.jobs reads them (default: the record at jobs_file)
---@field jobs_file? string the job record (default: HY3D_JOBS_FILE, XDG_STATE_HOME, ~/.local/state)
---@field viewer? string|false model-viewer-umd.min.js (false: no 3D views; default: the installed one)
---@field title? string the page's title
---@field cwd? string what a relative dir is relative to (default PWD)
---@field getenv? fun(name: string): string? stands in for os.getenv
---@field inspect? (fun(path: string): table?)|false gives a GLB's { triangles } (default: hy3d.inspect when present)

---@class hy3d.Gallery
---@field path string the index.html written
---@field models integer how many models it shows
---@field glbs integer how many of them have a GLB (a 3D view when a viewer is found)
---@field viewer? string the viewer file copied beside it (nil: no 3D views)
---@field no_preview string[] the JobIds without a preview image

---@class hy3d.ImageOptions
---@field formats? string[] accepted formats ("png", "jpeg", "webp")
---@field min_side? integer the shortest side allowed, in pixels
---@field max_side? integer the longest side allowed, in pixels
---@field max_bytes? integer the largest file (hy3d.views: all views together)

---@class hy3d.JobParams
---@field Prompt? string the text prompt
---@field ImageBase64? string a base64 image (hy3d.image)
---@field ImageUrl? string an image URL
---@field MultiViewImages? hy3d.ViewImage[] the other views (hy3d.views)
---@field Model? string
---@field GenerateType? string
---@field EnablePBR? boolean
---@field FaceCount? integer
---@field ResultFormat? string
---@field [string] any any other API field, sent unchanged

---@class hy3d.ViewImage
---@field ViewType string "left", "right", "back", "top", "bottom", "left_front", "right_front"
---@field ViewImageUrl? string
---@field ViewImageBase64? string

---@class hy3d.ImageInfo
---@field format string "png", "jpeg" or "webp"
---@field width integer
---@field height integer
---@field bytes integer
---@field path string

---@class hy3d.InspectOptions
---@field max_bytes? integer the most bytes the model and the files it names may hold together (default 512 MiB)

---@class hy3d.ModelTexture
---@field type string "diffuse", "base_color", "normal", ...
---@field path string as the material names it ("*0": the first embedded image)
---@field embedded? integer the index in images
---@field format? string "png", "jpeg" or "webp" (or the file's own hint)
---@field width? integer
---@field height? integer
---@field missing? boolean the file is not in the model's folder or zip

---@class hy3d.ModelMaterial
---@field name? string
---@field textures hy3d.ModelTexture[]

---@class hy3d.ModelImage
---@field index integer
---@field format? string
---@field width? integer
---@field height? integer
---@field bytes? integer
---@field name? string

---@class hy3d.ModelTakes
---@field kind string "rigging", "convert", "part", "uv", "topology", "texture"
---@field ok boolean
---@field why? string why the job would refuse the file

---@class hy3d.ModelInfo
---@field path string
---@field format string "glb", "gltf", "obj", "stl" or "fbx"
---@field encoding? string "binary" or "ascii"
---@field version? integer GLB's container version, FBX's (7400)
---@field container? string "zip" (an OBJ zip)
---@field entry? string the model's name in the zip
---@field files? string[] the zip's entries
---@field bytes integer the file's size
---@field vertices number
---@field triangles number
---@field faces number
---@field meshes integer
---@field bones integer
---@field animations integer
---@field incomplete? boolean
---@field bbox? { min: number[], max: number[], size: number[] }
---@field materials hy3d.ModelMaterial[]
---@field images hy3d.ModelImage[]
---@field takes hy3d.ModelTakes[]
---@field parser string "assimp 5.2.0"
---@field parsed boolean false: a binary FBX the parser cannot read (its header only: no counts)
---@field reason? string why it was not parsed

---@class hy3d.Job
---@field JobId string
---@field RequestId? string
---@field kind hy3d.Kind
---@field [string] any the rest of the submit response

---@class hy3d.ResultFile3D
---@field Type string "GLB", "OBJ", ... as the server gave it
---@field Url string
---@field PreviewImageUrl? string

---@class hy3d.Result
---@field JobId string
---@field Status hy3d.Status
---@field ResultFile3Ds? hy3d.ResultFile3D[]
---@field ErrorCode? string
---@field ErrorMessage? string
---@field Progress? number 0-100 on a door that reports it (mps)
---@field RequestId? string
---@field kind hy3d.Kind
---@field [string] any the rest of the query response

---@class hy3d.SavedFile
---@field type string the File3D type, a safe token in upper case
---@field path string where it was saved
---@field bytes integer
---@field url string
---@field dir? string with extract: the folder a zip result was unpacked into
---@field entries? string[] with extract: the unpacked names

---@class hy3d.Generated
---@field job hy3d.Job the submit response
---@field result hy3d.Result the final query result
---@field files hy3d.SavedFile[] what download_files saved

---@class hy3d.BatchEntry
---@field name? string the job's name (made safe; default: from the prompt)
---@field params string|hy3d.JobParams the API fields, or a prompt

---@class hy3d.BatchItem
---@field name string the safe, unique name: the files go to <dir>/<name>/
---@field params hy3d.JobParams the API fields
---@field line integer the line (or the entry's index)
---@field index integer the entry's index in the list
---@field key string the journal key: name and a hash of kind and params

---@class hy3d.BatchEvent
---@field event "submitted"|"resumed"|"skipped"|"cached"|"done"|"failed"
---@field name string
---@field line integer
---@field key string
---@field job_id? string
---@field code? string a failure's code
---@field message? string a failure's message
---@field files? hy3d.SavedFile[] what was saved (done, skipped)
---@field credits? number ResultCreditConsumed, when the answer carries it

---@class hy3d.BatchJob
---@field name string
---@field line integer
---@field status "done"|"failed"|"pending"
---@field job_id? string
---@field code? string
---@field message? string
---@field files? hy3d.SavedFile[]
---@field credits? number

---@class hy3d.BatchSummary
---@field total integer
---@field done integer done, skipped ones included
---@field failed integer
---@field skipped integer done in an earlier run, files whole
---@field resumed integer submitted in an earlier run and waited for in this one
---@field cached? integer done from opts.cached with no request
---@field credits? number the sum of ResultCreditConsumed, when the answers carry it (chained jobs' included)
---@field chained? integer chained jobs done (with opts.then)
---@field chained_credits? number their credits
---@field elapsed number seconds
---@field jobs hy3d.BatchJob[] one per entry, in the list's order
---@field callback_errors? hy3d.Error[] what on_event raised (the jobs went on)

---@class hy3d.BatchOptions
---@field client? hy3d.Client the client (default: the default client)
---@field dir? string where the files go, <dir>/<name>/ (default ".")
---@field kind? hy3d.Kind the job family (default "pro")
---@field formats? hy3d.Format[] File3D types to download (default the family's)
---@field journal? string|false the journal's path (default <dir>/.hy3d-batch.jsonl; false: none)
---@field concurrency? integer jobs at once (default pro 3, others 1; at most the client's max_concurrent_jobs)
---@field interval? number seconds between polls
---@field timeout? number each job's wait, seconds
---@field download_timeout? number each file's download, seconds
---@field extract? boolean unzip zipped results
---@field on_event? fun(event: hy3d.BatchEvent)
---@field after? fun(item: hy3d.BatchItem, result: hy3d.Result, files: hy3d.SavedFile[]) called when a job is done
---@field before_submit? fun(item: hy3d.BatchItem): boolean?, hy3d.Error? return nil, err to refuse a submit
---@field cached? fun(item: hy3d.BatchItem): hy3d.SavedFile[]? saved files: the entry is done with no request
---@field cache? boolean false: not the client's cache_dir (default: each line and chained step from it, stored in it)
---@field then? string[] chain kinds or verbs run on each line's model ("rig", "topology,rig")
---@field then_params? table<string, table> each chained step's params, by kind or verb
---@field dry_run? boolean nothing sent: returns { dry_run, total, credits, plans } instead

---@class hy3d.Error
---@field kind hy3d.ErrorKind
---@field code? string|number the API's Code, the CURLE_ name, the HTTP status or hy3d's own code
---@field message string
---@field hint? string one line of English on what to do
---@field retryable boolean advisory: whether trying again may help
---@field http_status? integer
---@field request_id? string
---@field job_id? string
---@field status? string the job's last status (timeout, NOT_DONE)
---@field result? hy3d.Result the last query result (kind "job")
---@field cause? hy3d.Error the last poll's error (a wait timeout)
---@field field? string the parameter at fault (invalid)
---@field partial? string the partial file kept for a resumed download
---@field files? hy3d.SavedFile[] the files saved before a download_files failure
---@field path? string the local file at fault
---@field phase? string usage PHASE_CANNOT_YIELD: the OpenResty phase (ngx.get_phase())
---@field curl_code? integer network errors: libcurl's CURLcode
---@field sent? boolean network errors: whether the request left
---@field retry_after? number seconds the server asked to wait
---@field errno? integer
---@field total? integer
local Error = {}

---Makes an error from a table of fields (kind is required); `secrets` are redacted from it.
---@param fields table
---@param secrets? string[]
---@param ctx? { door: string?, language: string? }
---@return hy3d.Error
function Error.new(fields, secrets, ctx) end

---True when v is an hy3d error.
---@param v any
---@return boolean
function Error.is(v) end

---hy3d.Error: the error module.
---@class hy3d.ErrorModule
---@field kinds table<hy3d.ErrorKind, true> the error kinds
---@field metatable table the metatable of every error
local ErrorModule = {}

---Makes an error from a table of fields (kind is required); `secrets` are redacted from it.
---@param fields table
---@param secrets? string[]
---@param ctx? { door: string?, language: string? }
---@return hy3d.Error
function ErrorModule.new(fields, secrets, ctx) end

---True when v is an hy3d error.
---@param v any
---@return boolean
function ErrorModule.is(v) end

---Replaces every occurrence of each secret in s with "[redacted]".
---@param s string
---@param secrets string[]
---@return string
function ErrorModule.redact(s, secrets) end

---Redacts the secrets from every string reachable from v, keys included, in place.
---@generic T
---@param v T
---@param secrets string[]
---@return T
function ErrorModule.redact_all(v, secrets) end

---A value a server sent where text belongs, as text (a table as at most 200 bytes of its JSON).
---@param v any
---@return string
function ErrorModule.text(v) end

---True for a TLS failure no retry can fix.
---@param e hy3d.Error
---@return boolean
function ErrorModule.tls_permanent(e) end

---True when a TLS handshake met plain HTTP.
---@param e hy3d.Error
---@return boolean
function ErrorModule.plain_http(e) end

---Gives e, when it is a TLS handshake that met plain HTTP, the hint naming url's host and port.
---@param e hy3d.Error
---@param url string
---@return hy3d.Error
function ErrorModule.hint_plain_http(e, url) end

---A job family's entry in hy3d.kinds.
---@class hy3d.KindEntry
---@field submit string the Submit action
---@field query string the Query/Describe action
---@field doors? string[] the doors that offer it (nil: every door)
---@field sites? string[] the sites that offer it (nil: every site)

---What hy3d.kinds.get returns: a copy of a family.
---@class hy3d.KindInfo: hy3d.KindEntry
---@field name string
---@field builtin boolean a family of this release, not replaced

---What hy3d.kinds.register takes.
---@class hy3d.KindDefinition
---@field name string a lowercase identifier
---@field submit string the Submit action, such as "SubmitCharacterToAnimationJob"
---@field query string the Query/Describe action
---@field doors? hy3d.Door[]
---@field sites? hy3d.Site[]
---@field replace? boolean replace a family of that name

---hy3d.kinds: the job families by name; register, list and get come from its metatable.
---@class hy3d.Kinds
---@field [string] hy3d.KindEntry
local Kinds = {}

---Adds (or with replace = true, replaces) a job family; a bad registration raises.
---@param def hy3d.KindDefinition
---@return hy3d.KindEntry
function Kinds.register(def) end

---The family names, sorted (built-in and registered).
---@return string[]
function Kinds.list() end

---A copy of the family called `name`, or nil.
---@param name string
---@return hy3d.KindInfo?
function Kinds.get(name) end

---A task of hy3d.spawn.
---@class hy3d.Task
---@field state "running"|"done"|"failed"
---@field error any what the function raised, once failed (an hy3d error stays the table)
---@field traceback? string where it raised
local Task = {}

---"running", "done" or "failed".
---@return "running"|"done"|"failed"
function Task:status() end

---The function's return values once done, or nil and the error once failed.
---@return any ...
function Task:result() end

---A client of one door (hy3d.new).
---@class hy3d.Client
---@field base_url string
---@field door? hy3d.Door
---@field mode? hy3d.Door the door's earlier name, an alias
---@field site hy3d.Site
---@field region? string API 3.0's region
---@field request_timeout number
---@field poll_interval number
---@field max_concurrent_jobs integer|false the client's own limit of jobs at the service (false: none)
local Client = {}

---Checks a job's parameters as submit would, sending nothing; with formats, generate's fix-up first.
---@param params hy3d.JobParams
---@param opts? hy3d.CheckOptions
---@return hy3d.JobParams? params the parameters to send
---@return hy3d.Error? err
function Client:check(params, opts) end

---Submits a job; returns the submit response (JobId, RequestId, kind) or nil, err.
---@param params hy3d.JobParams a table of API fields, sent as the JSON body
---@param opts? hy3d.SubmitOptions
---@return hy3d.Job? job
---@return hy3d.Error? err
function Client:submit(params, opts) end

---Queries a job once: the unwrapped response (Status, ResultFile3Ds, ErrorCode, ...) or nil, err.
---@param job hy3d.Job|string a job table or a JobId
---@param opts? hy3d.QueryOptions
---@return hy3d.Result? result
---@return hy3d.Error? err
function Client:query(job, opts) end

---Polls a job until DONE (its result) or FAIL (nil, err of kind "job").
---@param job hy3d.Job|string a job table or a JobId
---@param opts? hy3d.WaitOptions
---@return hy3d.Result? result
---@return hy3d.Error? err
function Client:wait(job, opts) end

---Calls any API 3.0 action by name (needs API 3.0 credentials).
---@param action string such as "DescribeAutoRiggingJob"
---@param params? table
---@return table? response
---@return hy3d.Error? err
function Client:call(action, params) end

---Asks a server with a health check (the local door) whether it is up.
---@return { Status: string, [string]: any }? status
---@return hy3d.Error? err
function Client:health() end

---The Date header of the last answer this client received, and this machine's os.time() when it came.
---@return string? date
---@return number? at
function Client:server_date() end

---Converts a model file to another format (Convert3DFormat; needs API 3.0 credentials).
---@param params { File3D: string, Format: string }
---@return { ResultFile3D: string, [string]: any }? response
---@return hy3d.Error? err
function Client:convert(params) end

---The credits this client's jobs have cost (each counted once, when seen DONE), and the breakdown.
---@return number spent
---@return hy3d.CreditsSummary summary
function Client:credits() end

---Counts a job of an earlier run (a resumed batch's journal) in this client's credits and max_credits, once per
---JobId: amount spent, or with pending the estimate of a job still running.
---@param job_id string
---@param amount number
---@param pending? boolean
---@return boolean counted
function Client:credits_add(job_id, amount, pending) end

---The result cache key of a request (generate's; opts.parent: the key of the job a chained step works on).
---@param params table
---@param opts? { kind?: hy3d.Kind, formats?: hy3d.Format[], parent?: string }
---@return string? key
function Client:cache_key(params, opts) end

---The cache entry of key restored into opts.dir as opts.name (nothing sent), or nil (a miss) and maybe an error.
---@param key string
---@param opts? { dir?: string, name?: string, extract?: boolean, max_bytes?: integer, kind?: hy3d.Kind }
---@return { cached: true, key: string, files: hy3d.SavedFile[], job: hy3d.Job, result: hy3d.Result }? hit
---@return hy3d.Error? err
function Client:cache_lookup(key, opts) end

---Stores the files a job saved as the cache entry of key.
---@param key string
---@param info { job_id?: string, kind?: string, prompt?: string, credits?: number }
---@param saved hy3d.SavedFile[]
---@return boolean? ok
---@return hy3d.Error? err
function Client:cache_store(key, info, saved) end

---Submits a follow-up job (part, uv, reduce_face/topology, texture, rigging/rig, motion, convert) on a
---previous job's output: the file picked by type, checked against the limit, its link refreshed.
---@param src hy3d.Result|hy3d.Job|string the previous job's result, job table or JobId
---@param kind string the follow-up kind
---@param params? table the action's other fields (Prompt, Format, MotionType, ...)
---@param opts? hy3d.ChainOptions
---@return hy3d.Job|hy3d.Result? job the job (convert: its result, with ResultFile3Ds)
---@return hy3d.Error? err
function Client:chain(src, kind, params, opts) end

---Submits, waits and downloads in one call.
---@param params string|hy3d.JobParams a prompt, or a table of API fields
---@param opts? hy3d.GenerateOptions
---@return hy3d.Generated? generated { job, result, files }
---@return hy3d.Error? err err.job_id is set whenever a job exists
function Client:generate(params, opts) end

---Downloads one URL to path, resuming a partial file.
---@param url string
---@param path string
---@param opts? hy3d.DownloadOptions
---@return string? path
---@return integer|hy3d.Error bytes_or_err the bytes written, or the error
function Client:download(url, path, opts) end

---Downloads a finished job's result files.
---@param job hy3d.Result|hy3d.Job|string a DONE query result, a job table or a JobId
---@param opts? hy3d.DownloadFilesOptions
---@return hy3d.SavedFile[]? files
---@return hy3d.Error? err
function Client:download_files(job, opts) end

---The non-blocking pump (hy3d.update).
---@param budget? number seconds spent resuming tasks at most
---@return integer live the number of live tasks
function Client:update(budget) end

---The pump, allowed to wait up to `timeout` seconds for work first.
---@param timeout? number
---@return integer live
function Client:step(timeout) end

---A file descriptor readable whenever this client's transfers need attention (Linux; nil elsewhere).
---@return integer?
function Client:pollfd() end

---The events to wait for on pollfd(): always "r".
---@return "r"
function Client:events() end

---Seconds until this client's transfers need attention without socket activity (nil: only sockets).
---@return number?
function Client:timeout() end

---Closes the client: cancels transfers in flight and frees the engine. Idempotent.
function Client:close() end

---The module: require "hy3d".
---@class hy3d
---@field _VERSION string
---@field defaults table<string, any> the defaults of hy3d.new's options
---@field null lightuserdata JSON null
---@field kinds hy3d.Kinds the job families
---@field Error hy3d.ErrorModule the error module
---@field credits hy3d.CreditsModule the billing table, estimate and of
---@field update_budget number the default resume budget of hy3d.update, in seconds
local hy3d = {}

---Creates a client; an api_key selects the gateway, a secret_id/secret_key pair API 3.0.
---Unknown options and wrong types raise.
---@param opts? hy3d.Options
---@return hy3d.Client
function hy3d.new(opts) end

---What a job would cost in credits (the billing table, [R]): the total and the details keyed as the
---service's ResultCreditDetails; nil and an invalid error for a kind or value without a price.
---@param params string|hy3d.JobParams
---@param opts? hy3d.EstimateOptions
---@return number? total
---@return table<string, number>|hy3d.Error details_or_err
function hy3d.estimate(params, opts) end

---`assert` for hy3d's `v | nil, err` returns, the same on every Lua.
---@generic T
---@param v? T
---@param err? any
---@param ... any
---@return T
---@return any ...
function hy3d.assert(v, err, ...) end

---Pauses the calling task (inside hy3d.spawn) without blocking anything else; elsewhere sleeps
---(through the hy3d.use adapter's sleep where it has one, such as ngx.sleep).
---@param seconds number
---@return true? ok
---@return hy3d.Error? err where the adapter refuses to wait (kind "usage")
function hy3d.sleep(seconds) end

---Runs fn(...) in a coroutine the pump drives.
---@param fn fun(...): ...
---@param ... any
---@return hy3d.Task
function hy3d.spawn(fn, ...) end

---The non-blocking pump: call it once per frame.
---@param budget? number seconds spent resuming tasks at most (default hy3d.update_budget)
---@return integer live the number of live tasks
function hy3d.update(budget) end

---The pump, allowed to wait up to `timeout` seconds for work first.
---@param timeout? number
---@return integer live
function hy3d.step(timeout) end

---Seconds until the pump next has work (0: now; nil: nothing pending).
---@return number?
function hy3d.timeout() end

---Drives every spawned task to the end.
---@return boolean ok
---@return any[]? errors the errors of the tasks that failed
function hy3d.run() end

---Hands hy3d to a host's event loop (cqueues, luv, copas, ngx, love, Tarantool's fiber);
---hy3d.use(nil) removes it.
---@param lib? table the host's module
---@param opts? { max_wait?: number } the adapter's options (ngx: the longest ngx.sleep, default 0.01)
---@return string? name the adapter's name ("cqueues", "luv", "copas", "ngx", "love", "tarantool")
function hy3d.use(lib, opts) end

---Reads a local PNG, JPEG or WebP for ImageBase64, checked against the service's limits.
---@param path string
---@param opts? hy3d.ImageOptions
---@return string? base64
---@return hy3d.ImageInfo|hy3d.Error info_or_err
function hy3d.image(path, opts) end

---Builds MultiViewImages from a table of view type -> path or URL.
---@param map table<string, string> { left = "l.png", back = "b.jpg", right = "https://..." }
---@param opts? hy3d.ImageOptions
---@return hy3d.ViewImage[]? views
---@return hy3d.Error? err
function hy3d.views(map, opts) end

---What a model file holds: GLB, OBJ or its zip, STL or FBX (needs the optional module hy3d.mesh).
---@param path string
---@param opts? hy3d.InspectOptions
---@return hy3d.ModelInfo? info
---@return hy3d.Error? err
function hy3d.inspect(path, opts) end

---The partial file a download of url to path writes (path plus a hash of the URL).
---@param url string
---@param path string
---@return string
function hy3d.partial_path(url, path) end

---Writes DIR/index.html: an offline page of the models a job record saved in dir (doc/cli.md, "Gallery").
---@param dir string
---@param opts? hy3d.GalleryOptions
---@return hy3d.Gallery? gallery
---@return hy3d.Error? err
function hy3d.gallery(dir, opts) end

---Client:submit on the default client (made from the environment).
---@param params hy3d.JobParams
---@param opts? hy3d.SubmitOptions
---@return hy3d.Job? job
---@return hy3d.Error? err
function hy3d.submit(params, opts) end

---Client:query on the default client.
---@param job hy3d.Job|string
---@param opts? hy3d.QueryOptions
---@return hy3d.Result? result
---@return hy3d.Error? err
function hy3d.query(job, opts) end

---Client:wait on the default client.
---@param job hy3d.Job|string
---@param opts? hy3d.WaitOptions
---@return hy3d.Result? result
---@return hy3d.Error? err
function hy3d.wait(job, opts) end

---Client:call on the default client.
---@param action string
---@param params? table
---@return table? response
---@return hy3d.Error? err
function hy3d.call(action, params) end

---Client:convert on the default client.
---@param params { File3D: string, Format: string }
---@return { ResultFile3D: string, [string]: any }? response
---@return hy3d.Error? err
function hy3d.convert(params) end

---Client:download on the default client (needs no credentials).
---@param url string
---@param path string
---@param opts? hy3d.DownloadOptions
---@return string? path
---@return integer|hy3d.Error bytes_or_err
function hy3d.download(url, path, opts) end

---Client:download_files on the default client.
---@param job hy3d.Result|hy3d.Job|string
---@param opts? hy3d.DownloadFilesOptions
---@return hy3d.SavedFile[]? files
---@return hy3d.Error? err
function hy3d.download_files(job, opts) end

---Client:generate on the default client.
---@param params string|hy3d.JobParams
---@param opts? hy3d.GenerateOptions
---@return hy3d.Generated? generated
---@return hy3d.Error? err
function hy3d.generate(params, opts) end

---Runs many jobs: every entry checked before anything is sent, each JobId journaled before it is waited for,
---a second call with the same list resuming without a second submit.
---@param list (string|hy3d.BatchEntry)[]
---@param opts? hy3d.BatchOptions
---@return hy3d.BatchSummary? summary
---@return hy3d.Error? err
function hy3d.batch(list, opts) end

return hy3d
