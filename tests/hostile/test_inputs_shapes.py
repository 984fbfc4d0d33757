"""`run --inputs`, `quantize` and shapes: careless or hostile input is a clean error
naming the file, input or option (exit 2), or correct behaviour — never a traceback."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.hostile.conftest import cli


def _npz(path: Path, allow_pickle: bool = False, **arrays: object) -> Path:
    if allow_pickle:  # np.savez pickles object arrays; np.load refuses them
        np.savez(path, **arrays)  # type: ignore[arg-type]
    else:
        np.savez(path, **{k: np.asarray(v) for k, v in arrays.items()})
    return path


X = np.zeros((1, 16), np.float32)

# (case, a function writing the --inputs file into a directory, what the message names)
INPUTS: list[tuple[str, Callable[[Path], Path], tuple[str, ...]]] = [
    ("wrong_name", lambda d: _npz(d / "i.npz", z=X), ("i.npz", "'z'", "'x'")),
    ("missing_input", lambda d: _npz(d / "i.npz"), ("i.npz", "missing", "'x'")),
    ("extra_array", lambda d: _npz(d / "i.npz", x=X, extra=X), ("i.npz", "extra")),
    ("strings", lambda d: _npz(d / "i.npz", x=np.array([["a"] * 16])), ("i.npz", "'x'")),
    ("object_array", lambda d: _npz(d / "i.npz", True, x=np.array([{}, 1], dtype=object)),
     ("i.npz", "'x'")),
    ("complex", lambda d: _npz(d / "i.npz", x=X.astype(np.complex64)), ("i.npz", "complex")),
    ("wrong_shape", lambda d: _npz(d / "i.npz", x=np.zeros((1, 15), np.float32)),
     ("i.npz", "'x'", "[1, 15]")),
    ("wrong_rank", lambda d: _npz(d / "i.npz", x=np.zeros(16, np.float32)), ("i.npz", "'x'")),
    ("corrupt_zip", lambda d: _write(d / "i.npz", b"PK\x03\x04" + b"\x00" * 64), ("i.npz",)),
    ("random_bytes", lambda d: _write(d / "i.npz", bytes(range(256)) * 4), ("i.npz",)),
    ("truncated_zip", lambda d: _truncate(_npz(d / "i.npz", x=X)), ("i.npz",)),
    ("npy", lambda d: _save_npy(d / "i.npy"), ("i.npy", ".npz")),
    ("empty_file", lambda d: _write(d / "i.npz", b""), ("i.npz",)),
    ("directory", lambda d: _mkdir(d / "i.npz"), ("i.npz",)),
    ("absent", lambda d: d / "absent.npz", ("absent.npz",)),
    ("nan_member", lambda d: _zip_member(d / "i.npz"), ("i.npz",)),
]


def _write(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


def _truncate(p: Path) -> Path:
    p.write_bytes(p.read_bytes()[:100])
    return p


def _save_npy(p: Path) -> Path:
    np.save(p, X)
    return p


def _mkdir(p: Path) -> Path:
    p.mkdir()
    return p


def _zip_member(p: Path) -> Path:
    """A zip whose member named x.npy is not an array."""
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("x.npy", b"not an array")
    return p


@pytest.mark.parametrize("case,make,named", INPUTS, ids=[c[0] for c in INPUTS])
def test_bad_inputs_file(case: str, make: Callable[[Path], Path], named: tuple[str, ...],
                         models: dict[str, Path], tmp_path: Path) -> None:
    path = make(tmp_path)
    out = cli("run", models["int8"], "--inputs", path, "--check", "none", cwd=tmp_path)
    assert out.code == 2, out.text
    assert out.names(*named), out.text


@pytest.mark.parametrize("kind,dtype", [("int64", np.int64), ("float16", np.float16)])
def test_inputs_in_the_models_own_dtype_are_fed_as_is(kind: str, dtype: type,
                                                      models: dict[str, Path],
                                                      tmp_path: Path) -> None:
    """int64 token ids and float16 inputs are fed in their dtype (not cast to float32),
    and onnxruntime agrees with the run; float32 data for a float16 input is refused."""
    path = _npz(tmp_path / "i.npz", x=np.arange(8, dtype=dtype).reshape(2, 4))
    out = cli("run", models[kind], "--inputs", path, "--check", "output", cwd=tmp_path)
    assert out.code == 0, out.text
    assert "ok vs onnxruntime" in out.text, out.text


@pytest.mark.parametrize("values", ["nan_inf", "1e30", "int32"])
def test_odd_but_valid_values_run_and_agree(values: str, models: dict[str, Path],
                                            tmp_path: Path) -> None:
    """NaN / inf, values far outside the calibration range and integer data for a float
    input are legal: they run and the results agree with onnxruntime (the check passes)."""
    x = np.linspace(-2, 2, 32, dtype=np.float32).reshape(2, 16)
    if values == "nan_inf":
        x[0, 3], x[1, 2], x[1, 5] = np.nan, np.inf, -np.inf
    elif values == "1e30":
        x *= np.float32(1e30)
    path = _npz(tmp_path / "i.npz", x=x.astype(np.int32) if values == "int32" else x)
    out = cli("run", models["int8"], "--inputs", path, cwd=tmp_path)
    assert out.code == 0 and out.names("ok vs onnxruntime", "all agree"), out.text


def test_float32_for_an_int64_input_is_refused(models: dict[str, Path], tmp_path: Path) -> None:
    path = _npz(tmp_path / "i.npz", x=np.full((2, 4), 0.5, np.float32))
    out = cli("run", models["int64"], "--inputs", path, cwd=tmp_path)
    assert out.code == 2 and out.names("i.npz", "'x'", "float32", "int64"), out.text


# quantize: (case, a function making (model, extra args) in a directory, what is named)
def _q_model(models: dict[str, Path], kind: str) -> Callable[[Path], tuple[Path, list[str]]]:
    return lambda d: (models[kind], [])


QUANTIZE: list[tuple[str, Callable[[Path, dict[str, Path]], tuple[Path, list[str]]],
                     tuple[str, ...]]] = [
    ("truncated_model", lambda d, m: (_write(d / "t.onnx", m["float"].read_bytes()[:200]), []),
     ("t.onnx",)),
    ("empty_model", lambda d, m: (_write(d / "e.onnx", b""), []), ("e.onnx", "empty")),
    ("model_is_directory", lambda d, m: (_mkdir(d / "dir.onnx"), []), ("dir.onnx", "directory")),
    ("absent_model", lambda d, m: (d / "absent.onnx", []), ("absent.onnx",)),
    ("not_onnx", lambda d, m: (_write(d / "x.onnx", b"hello world\n" * 10), []), ("x.onnx",)),
    ("random_zero", lambda d, m: (m["float"], ["--random", "0"]), ("--random 0",)),
    ("random_negative", lambda d, m: (m["float"], ["--random", "-5"]), ("--random -5",)),
    ("calib_corrupt_zip", lambda d, m: (m["float"], ["--calib", str(_calib(d, b"PK\x03\x04"))]),
     ("s0.npz",)),
    ("calib_wrong_shape", lambda d, m: (m["float"], ["--calib", str(_calib(
        d, np.zeros((1, 3), np.float32)))]), ("s0.npz", "'x'")),
    ("calib_strings", lambda d, m: (m["float"], ["--calib", str(_calib(
        d, np.array([["a"] * 16])))]), ("s0.npz", "'x'")),
    ("calib_empty_dir", lambda d, m: (m["float"], ["--calib", str(_mkdir(d / "calib"))]),
     ("calib",)),
    ("calib_is_file", lambda d, m: (m["float"], ["--calib", str(_write(d / "c.npz", b""))]),
     ("--calib", "c.npz")),
    ("activation_type", lambda d, m: (m["float"], ["--activation-type", "int4"]), ("int4",)),
    ("int_input_model", lambda d, m: (m["int64"], []), ("int64.onnx",)),
    ("already_quantized", lambda d, m: (m["int8"], []), ("mlp.int8.onnx",)),
]


def _calib(d: Path, sample: bytes | np.ndarray) -> Path:
    c = d / "calib"
    c.mkdir()
    if isinstance(sample, bytes):
        (c / "s0.npz").write_bytes(sample)
    else:
        np.savez(c / "s0.npz", x=sample)
    return c


@pytest.mark.parametrize("case,make,named", QUANTIZE, ids=[c[0] for c in QUANTIZE])
def test_bad_quantize(case: str, make: Callable[[Path, dict[str, Path]], tuple[Path, list[str]]],
                      named: tuple[str, ...], models: dict[str, Path], tmp_path: Path) -> None:
    model, extra = make(tmp_path, models)
    out = cli("quantize", model, "-o", tmp_path / "q.onnx", *extra, cwd=tmp_path)
    assert out.code == 2, out.text
    assert out.names(*named), out.text
    assert not (tmp_path / "q.onnx").exists(), "a failed quantize left an output behind"


def test_quantize_output_is_a_directory(models: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    out = cli("quantize", models["float"], "-o", tmp_path / "out", cwd=tmp_path)
    assert out.code == 2 and out.names("out", "directory"), out.text
    assert list((tmp_path / "out").iterdir()) == []


def test_quantize_keeps_an_existing_output_when_it_fails(models: dict[str, Path],
                                                         tmp_path: Path) -> None:
    """A failed quantize does not clobber the previous good output."""
    good = tmp_path / "q.onnx"
    good.write_bytes(models["int8"].read_bytes())
    out = cli("quantize", models["float"], "-o", good, "--random", "0", cwd=tmp_path)
    assert out.code == 2
    assert good.read_bytes() == models["int8"].read_bytes()


# shapes
SHAPES: list[tuple[str, Callable[[dict[str, Path], Path], list[str | Path]], tuple[str, ...]]] = [
    ("batch_negative", lambda m, d: ["run", m["int8"], "--batch", "-3"], ("--batch",)),
    ("batch_zero", lambda m, d: ["run", m["int8"], "--batch", "0"], ("--batch",)),
    ("compile_batch_negative", lambda m, d: ["compile", m["int8"], "--batch", "-1", "-o",
                                             d / "b"], ("--batch",)),
    ("shape_wrong_rank", lambda m, d: ["import", m["int8"], "--shape", "x=a,b,c"],
     ("--shape", "'x'", "rank")),
    ("shape_negative", lambda m, d: ["import", m["int8"], "--shape", "x=1,-4"],
     ("--shape", "-4")),
    ("shape_zero", lambda m, d: ["import", m["int8"], "--shape", "x=0,16"], ("--shape", "0")),
    ("shape_unknown_input", lambda m, d: ["import", m["int8"], "--shape", "nosuch=1,16"],
     ("--shape", "nosuch", "'x'")),
    ("shape_no_equals", lambda m, d: ["import", m["int8"], "--shape", "x"], ("--shape",)),
    ("shape_empty_dims", lambda m, d: ["import", m["int8"], "--shape", "x="], ("--shape",)),
    ("shape_conflicts", lambda m, d: ["import", m["int8"], "--shape", "x=1,15"],
     ("node 'fc0'", "15 vs 16")),
    ("huge_dims_run", lambda m, d: ["run", m["huge"]], ("'x'", "1000000000")),
    ("huge_dims_quantize", lambda m, d: ["quantize", m["huge"], "-o", d / "q.onnx"],
     ("'x'", "1000000000")),
    ("negative_dim_import", lambda m, d: ["import", m["negative"]], ("'x'", "-3")),
    ("negative_dim_run", lambda m, d: ["run", m["negative"]], ("'x'", "-3")),
    ("negative_dim_quantize", lambda m, d: ["quantize", m["negative"], "-o", d / "q.onnx"],
     ("'x'", "-3")),
    ("empty_model_import", lambda m, d: ["import", _write(d / "e.onnx", b"")], ("e.onnx",)),
    ("empty_model_compile", lambda m, d: ["compile", _write(d / "e.onnx", b""), "-o", d / "b"],
     ("e.onnx",)),
    ("empty_model_run", lambda m, d: ["run", _write(d / "e.onnx", b"")], ("e.onnx",)),
    ("empty_model_partition", lambda m, d: ["partition", _write(d / "e.onnx", b""), "-t",
                                            "reference_npu"], ("e.onnx",)),
    ("garbage_model_compile", lambda m, d: ["compile", _write(d / "g.onnx", b"\x08\xff" * 9),
                                            "-o", d / "b"], ("g.onnx",)),
    ("model_is_directory_run", lambda m, d: ["run", _mkdir(d / "m.onnx")], ("m.onnx",)),
    ("absent_model_compile", lambda m, d: ["compile", d / "nope.onnx", "-o", d / "b"],
     ("nope.onnx",)),
]


@pytest.mark.parametrize("case,args,named", SHAPES, ids=[c[0] for c in SHAPES])
def test_bad_shapes(case: str, args: Callable[[dict[str, Path], Path], list[str | Path]],
                    named: tuple[str, ...], models: dict[str, Path], tmp_path: Path) -> None:
    out = cli(*args(models, tmp_path), cwd=tmp_path)
    assert out.code == 2, out.text
    assert out.names(*named), out.text
    assert not (tmp_path / "b").exists() and not (tmp_path / "q.onnx").exists()


def _external(d: Path, location: str) -> Path:
    """A model whose weight is external data at ``location`` (outside its directory)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((4, 4), np.float32), "w")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "64")):
        e = w.external_data.add()
        e.key, e.value = k, v
    vi = helper.make_tensor_value_info
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g",
                          [vi("x", TensorProto.FLOAT, ["N", 4])],
                          [vi("y", TensorProto.FLOAT, ["N", 4])], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(d / "ext.onnx"))
    return d / "ext.onnx"


@pytest.mark.parametrize("command,location", [
    *((c, "/etc/passwd") for c in ("import", "partition", "quantize", "compile", "run")),
    *((c, "../../../../../../etc/passwd") for c in ("import", "quantize"))])
def test_external_data_outside_the_model_directory_is_refused(command: str, location: str,
                                                              tmp_path: Path) -> None:
    """A weight stored as external data may not read a file outside the model's
    directory: refused naming the model, nothing of the file shown."""
    model = _external(tmp_path, location)
    args: list[str | Path] = {"import": ["import", model],
                              "partition": ["partition", model, "-t", "reference_npu"],
                              "quantize": ["quantize", model, "-o", tmp_path / "q.onnx"],
                              "compile": ["compile", model, "-o", tmp_path / "b"],
                              "run": ["run", model]}[command]
    out = cli(*args, cwd=tmp_path)
    assert out.code == 2 and out.names("ext.onnx"), out.text
    assert "root:x:0" not in out.text
    assert not (tmp_path / "q.onnx").exists() and not (tmp_path / "b").exists()


def test_symbolic_dims_other_than_the_batch_are_named(tmp_path: Path) -> None:
    """A model whose inputs have symbolic dims the SDK cannot size (not N / batch) says which
    input and dim, instead of numpy's `negative dimensions are not allowed`."""
    from onnx import TensorProto, helper

    from vendor_sdk.runtime.examples import _save

    vi = helper.make_tensor_value_info
    m = _save([helper.make_node("Relu", ["x"], ["y"], name="r0")],
              [vi("x", TensorProto.FLOAT, ["batch", "seq", 8])],
              [vi("y", TensorProto.FLOAT, ["batch", "seq", 8])], {}, tmp_path / "s.onnx", "s")
    for args in (["run", m], ["quantize", m, "-o", tmp_path / "q.onnx"]):
        out = cli(*args, cwd=tmp_path)
        assert "negative dimensions" not in out.text, out.text
        assert out.code in (0, 2), out.text
        if out.code == 2:
            assert out.names("'x'", "seq"), out.text


# outputs in the way: (case, the command given a directory `d` holding a file `afile` and a
# directory `adir`, what the message names)
OUTPUTS: list[tuple[str, Callable[[dict[str, Path], Path], list[str | Path]], tuple[str, ...]]] = [
    ("compile_o_is_a_file", lambda m, d: ["compile", m["int8"], "-o", d / "afile"],
     ("afile", "is a file")),
    ("partition_dot_is_a_dir", lambda m, d: ["partition", m["int8"], "-t", "reference_npu",
                                             "--dot", d / "adir"], ("adir", "Is a directory")),
    ("partition_html_under_a_file", lambda m, d: ["partition", m["int8"], "-t", "reference_npu",
                                                  "--html", d / "afile" / "r.html"],
     ("afile/r.html", "Not a directory")),
    ("quantize_o_under_a_file", lambda m, d: ["quantize", m["float"], "-o",
                                              d / "afile" / "q.onnx"], ("afile/q.onnx",)),
]


@pytest.mark.parametrize("case,args,named", OUTPUTS, ids=[c[0] for c in OUTPUTS])
def test_outputs_in_the_way(case: str, args: Callable[[dict[str, Path], Path], list[str | Path]],
                            named: tuple[str, ...], models: dict[str, Path],
                            tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("keep me\n")
    (tmp_path / "adir").mkdir()
    out = cli(*args(models, tmp_path), cwd=tmp_path)
    assert out.code == 2 and out.names(*named), out.text
    assert (tmp_path / "afile").read_text() == "keep me\n"
    assert list((tmp_path / "adir").iterdir()) == []


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04" + b"\x00" * 30])
def test_replay_of_a_bad_file_names_it(content: bytes, tmp_path: Path) -> None:
    (tmp_path / "layer.npz").write_bytes(content)
    out = cli("replay", tmp_path / "layer.npz", cwd=tmp_path)
    assert out.code == 2 and out.names("layer.npz", "not a readable .npz"), out.text


@pytest.mark.parametrize("command", ["import", "run", "compile"])
def test_a_node_expanding_past_the_tensor_budget_is_named(command: str, tmp_path: Path) -> None:
    """Expand to 1e9 x N x 4: refused at the node (the host executor tried to allocate it)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    vi = helper.make_tensor_value_info
    g = helper.make_graph([helper.make_node("Expand", ["x", "s"], ["y"], name="exp")], "g",
                          [vi("x", TensorProto.FLOAT, ["N", 4])],
                          [vi("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(np.array([10 ** 9, 1, 4], np.int64), "s")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(tmp_path / "exp.onnx"))
    args: list[str | Path] = [command, tmp_path / "exp.onnx"] + (
        ["-o", tmp_path / "b"] if command == "compile" else [])
    out = cli(*args, cwd=tmp_path)
    assert out.code == 2 and out.names("node 'exp'", "1000000000", "model-size budget"), \
        out.text
