"""The generated classes match BuildKit's field numbers and the .proto file."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from archon.runtime.llb.pb import ops_pb2

REPO = Path(__file__).resolve().parents[3]

# (message, field, number) as in BuildKit's solver/pb/ops.proto.
BUILDKIT_FIELD_NUMBERS = [
    ("Op", "inputs", 1), ("Op", "exec", 2), ("Op", "source", 3), ("Op", "file", 4),
    ("Op", "build", 5), ("Op", "merge", 6), ("Op", "diff", 7), ("Op", "platform", 10),
    ("Op", "constraints", 11),
    ("Platform", "Architecture", 1), ("Platform", "OS", 2), ("Platform", "Variant", 3),
    ("Platform", "OSVersion", 4), ("Platform", "OSFeatures", 5),
    ("Input", "digest", 1), ("Input", "index", 2),
    ("ExecOp", "meta", 1), ("ExecOp", "mounts", 2), ("ExecOp", "network", 3),
    ("ExecOp", "security", 4), ("ExecOp", "secretenv", 5),
    ("Meta", "args", 1), ("Meta", "env", 2), ("Meta", "cwd", 3), ("Meta", "user", 4),
    ("Meta", "proxy_env", 5), ("Meta", "extraHosts", 6), ("Meta", "hostname", 7),
    ("Meta", "ulimit", 9), ("Meta", "cgroupParent", 10), ("Meta", "removeMountStubsRecursive", 11),
    ("Meta", "validExitCodes", 12),
    ("HostIP", "Host", 1), ("HostIP", "IP", 2),
    ("Ulimit", "Name", 1), ("Ulimit", "Soft", 2), ("Ulimit", "Hard", 3),
    ("SecretEnv", "ID", 1), ("SecretEnv", "name", 2), ("SecretEnv", "optional", 3),
    ("Mount", "input", 1), ("Mount", "selector", 2), ("Mount", "dest", 3), ("Mount", "output", 4),
    ("Mount", "readonly", 5), ("Mount", "mountType", 6), ("Mount", "TmpfsOpt", 19),
    ("Mount", "cacheOpt", 20), ("Mount", "secretOpt", 21), ("Mount", "SSHOpt", 22),
    ("Mount", "resultID", 23), ("Mount", "contentCache", 24),
    ("TmpfsOpt", "size", 1), ("CacheOpt", "ID", 1), ("CacheOpt", "sharing", 2),
    ("SecretOpt", "ID", 1), ("SecretOpt", "uid", 2), ("SecretOpt", "gid", 3),
    ("SecretOpt", "mode", 4), ("SecretOpt", "optional", 5),
    ("SSHOpt", "ID", 1), ("SSHOpt", "uid", 2), ("SSHOpt", "gid", 3), ("SSHOpt", "mode", 4),
    ("SSHOpt", "optional", 5),
    ("SourceOp", "identifier", 1), ("SourceOp", "attrs", 2),
    ("BuildOp", "builder", 1), ("BuildOp", "inputs", 2), ("BuildOp", "def", 3), ("BuildOp", "attrs", 4),
    ("OpMetadata", "ignore_cache", 1), ("OpMetadata", "description", 2),
    ("OpMetadata", "export_cache", 4), ("OpMetadata", "caps", 5), ("OpMetadata", "progress_group", 6),
    ("Source", "locations", 1), ("Source", "infos", 2), ("Locations", "locations", 1),
    ("SourceInfo", "filename", 1), ("SourceInfo", "data", 2), ("SourceInfo", "definition", 3),
    ("SourceInfo", "language", 4),
    ("Location", "sourceIndex", 1), ("Location", "ranges", 2),
    ("Range", "start", 1), ("Range", "end", 2), ("Position", "line", 1), ("Position", "character", 2),
    ("ExportCache", "Value", 1),
    ("ProgressGroup", "id", 1), ("ProgressGroup", "name", 2), ("ProgressGroup", "weak", 3),
    ("ProxyEnv", "http_proxy", 1), ("ProxyEnv", "https_proxy", 2), ("ProxyEnv", "ftp_proxy", 3),
    ("ProxyEnv", "no_proxy", 4), ("ProxyEnv", "all_proxy", 5),
    ("WorkerConstraints", "filter", 1),
    ("Definition", "def", 1), ("Definition", "metadata", 2), ("Definition", "Source", 3),
    ("FileOp", "actions", 2),
    ("FileAction", "input", 1), ("FileAction", "secondaryInput", 2), ("FileAction", "output", 3),
    ("FileAction", "copy", 4), ("FileAction", "mkfile", 5), ("FileAction", "mkdir", 6),
    ("FileAction", "rm", 7), ("FileAction", "symlink", 8),
    ("FileActionCopy", "src", 1), ("FileActionCopy", "dest", 2), ("FileActionCopy", "owner", 3),
    ("FileActionCopy", "mode", 4), ("FileActionCopy", "followSymlink", 5),
    ("FileActionCopy", "dirCopyContents", 6), ("FileActionCopy", "attemptUnpackDockerCompatibility", 7),
    ("FileActionCopy", "createDestPath", 8), ("FileActionCopy", "allowWildcard", 9),
    ("FileActionCopy", "allowEmptyWildcard", 10), ("FileActionCopy", "timestamp", 11),
    ("FileActionCopy", "include_patterns", 12), ("FileActionCopy", "exclude_patterns", 13),
    ("FileActionCopy", "alwaysReplaceExistingDestPaths", 14),
    ("FileActionMkFile", "path", 1), ("FileActionMkFile", "mode", 2), ("FileActionMkFile", "data", 3),
    ("FileActionMkFile", "owner", 4), ("FileActionMkFile", "timestamp", 5),
    ("FileActionMkDir", "path", 1), ("FileActionMkDir", "mode", 2), ("FileActionMkDir", "makeParents", 3),
    ("FileActionMkDir", "owner", 4), ("FileActionMkDir", "timestamp", 5),
    ("FileActionRm", "path", 1), ("FileActionRm", "allowNotFound", 2), ("FileActionRm", "allowWildcard", 3),
    ("ChownOpt", "user", 1), ("ChownOpt", "group", 2),
    ("UserOpt", "byName", 1), ("UserOpt", "byID", 2),
    ("NamedUserOpt", "name", 1), ("NamedUserOpt", "input", 2),
    ("MergeInput", "input", 1), ("MergeOp", "inputs", 1),
    ("LowerDiffInput", "input", 1), ("UpperDiffInput", "input", 1),
    ("DiffOp", "lower", 1), ("DiffOp", "upper", 2),
]

BUILDKIT_ENUMS = {
    "NetMode": {"UNSET": 0, "HOST": 1, "NONE": 2},
    "SecurityMode": {"SANDBOX": 0, "INSECURE": 1},
    "MountType": {"BIND": 0, "SECRET": 1, "SSH": 2, "CACHE": 3, "TMPFS": 4},
    "MountContentCache": {"DEFAULT": 0, "ON": 1, "OFF": 2},
    "CacheSharingOpt": {"SHARED": 0, "PRIVATE": 1, "LOCKED": 2},
}


@pytest.mark.parametrize(("message", "field", "number"), BUILDKIT_FIELD_NUMBERS)
def test_field_number_matches_buildkit(message, field, number):
    descriptor = ops_pb2.DESCRIPTOR.message_types_by_name[message]
    assert descriptor.fields_by_name[field].number == number


@pytest.mark.parametrize(("enum", "values"), sorted(BUILDKIT_ENUMS.items()))
def test_enum_values_match_buildkit(enum, values):
    descriptor = ops_pb2.DESCRIPTOR.enum_types_by_name[enum]
    assert {value.name: value.number for value in descriptor.values} == values


def test_package_is_pb():
    assert ops_pb2.DESCRIPTOR.package == "pb"


def test_source_op_wire_bytes():
    op = ops_pb2.Op(source=ops_pb2.SourceOp(identifier="local://x"))

    # Field 3 (source), length 11; inside, field 1 (identifier), length 9.
    assert op.SerializeToString() == b"\x1a\x0b\x0a\x09local://x"


def test_mount_high_field_wire_bytes():
    mount = ops_pb2.Mount(cacheOpt=ops_pb2.CacheOpt(ID="c"))

    # Field 20, wire type 2: key (20 << 3) | 2 = 162, a two-byte varint.
    assert mount.SerializeToString() == b"\xa2\x01\x03\x0a\x01c"


@pytest.mark.skipif(importlib.util.find_spec("grpc_tools") is None, reason="grpcio-tools is not installed")
def test_generated_code_is_current(tmp_path):
    # Compile ops.proto the way scripts/gen-proto does and compare descriptors.
    tree = tmp_path / "tree"
    (tree / "archon").mkdir(parents=True)
    os.symlink(REPO / "runtime", tree / "archon" / "runtime")
    descriptor_set = tmp_path / "ops.pb"

    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", ".", f"--descriptor_set_out={descriptor_set}",
         "archon/runtime/llb/pb/ops.proto"],
        cwd=tree,
        check=True,
    )

    compiled = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes()).file[0]
    _clear_json_names(compiled.message_type)
    generated = descriptor_pb2.FileDescriptorProto()
    ops_pb2.DESCRIPTOR.CopyToProto(generated)
    assert compiled == generated, "ops_pb2.py is stale: run scripts/gen-proto"
    shutil.rmtree(tree)


def _clear_json_names(messages) -> None:
    # protoc fills json_name in descriptor sets; generated code leaves it out.
    for message in messages:
        for field in message.field:
            field.ClearField("json_name")
        _clear_json_names(message.nested_type)
