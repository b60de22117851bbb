-- Headless Neovim as a real LSP client of dagger-lsp.
--
-- Environment: ARCHON_LSP (the server command), ARCHON_ROOT (the workspace
-- folder), ARCHON_FILE (the .cue file to open), ARCHON_HOVER (a word of the
-- file to hover on), ARCHON_OUT (where to write what the client received,
-- as JSON). Works with Neovim 0.7 and newer:
-- only vim.lsp.start_client and vim.lsp.buf_attach_client are used.

local received = { diagnostics = {}, hover = nil, messages = {} }
local done = false

local function on_diagnostics(err, result, ctx, config)
  vim.lsp.diagnostic.on_publish_diagnostics(err, result, ctx, config)
  if result and vim.endswith(result.uri, vim.fn.fnamemodify(vim.env.ARCHON_FILE, ":t")) then
    received.diagnostics = result.diagnostics
    for _, diagnostic in ipairs(result.diagnostics) do
      if diagnostic.code == "unknown-op" then
        done = true
      end
    end
  end
end

local client_id = vim.lsp.start_client({
  name = "dagger-lsp",
  cmd = { vim.env.ARCHON_LSP },
  root_dir = vim.env.ARCHON_ROOT,
  init_options = { logLevel = "info" },
  handlers = {
    ["textDocument/publishDiagnostics"] = on_diagnostics,
    ["window/logMessage"] = function(_, result)
      table.insert(received.messages, result.message)
    end,
  },
})

vim.cmd("edit " .. vim.fn.fnameescape(vim.env.ARCHON_FILE))
vim.lsp.buf_attach_client(0, client_id)

local finished = vim.wait(30000, function() return done end, 50)
received.finished = finished

-- Hover on the first occurrence of ARCHON_HOVER, through the same client.
local word = vim.env.ARCHON_HOVER
local line_number = vim.fn.search("\\V" .. word, "nw")
if line_number > 0 then
  local column = vim.fn.stridx(vim.fn.getline(line_number), word)
  local responses = vim.lsp.buf_request_sync(0, "textDocument/hover", {
    textDocument = { uri = vim.uri_from_bufnr(0) },
    position = { line = line_number - 1, character = column + 1 },
  }, 10000)
  for _, response in pairs(responses or {}) do
    if response.result then
      received.hover = response.result.contents.value
    end
  end
end

local handle = io.open(vim.env.ARCHON_OUT, "w")
handle:write(vim.fn.json_encode(received))
handle:close()

vim.lsp.stop_client(client_id)
vim.wait(2000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 50)
vim.cmd("qa!")
