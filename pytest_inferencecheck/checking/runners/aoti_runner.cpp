// pytest-inferencecheck's AOTInductor runner: loads a .pt2 package and runs it with no Python.
//
//   inferencecheck-aoti-runner MODEL.pt2 INPUTS.bin OUTPUTS.bin [REPEAT]
//
// Tensors travel in a small raw format (tensor_file.py writes and reads it), so the runner
// needs no serialization library and builds in a few seconds:
//   "ICT1", uint32 count, then per tensor: uint32 len + dtype name, uint32 ndim,
//   int64 sizes[ndim], uint64 nbytes, the bytes (contiguous, native byte order).
// With REPEAT > 0 the model is also run REPEAT more times and the median latency in
// milliseconds is printed on stdout as `median_ms=<value>`.
#include <ATen/ops/empty.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

static const std::vector<std::pair<std::string, at::ScalarType>> kDtypes = {
    {"float32", at::kFloat},   {"float64", at::kDouble},     {"float16", at::kHalf},
    {"bfloat16", at::kBFloat16}, {"int64", at::kLong},       {"int32", at::kInt},
    {"int16", at::kShort},     {"int8", at::kChar},          {"uint8", at::kByte},
    {"bool", at::kBool},       {"complex64", at::kComplexFloat},
    {"complex128", at::kComplexDouble}};

static at::ScalarType dtype_of(const std::string& name) {
  for (const auto& [n, t] : kDtypes) if (n == name) return t;
  throw std::runtime_error("unsupported dtype " + name);
}

static std::string name_of(at::ScalarType type) {
  for (const auto& [n, t] : kDtypes) if (t == type) return n;
  throw std::runtime_error(std::string("unsupported output dtype ") + c10::toString(type));
}

template <typename T> static T get(std::istream& in) {
  T value;
  if (!in.read(reinterpret_cast<char*>(&value), sizeof(T))) throw std::runtime_error("truncated tensor file");
  return value;
}

template <typename T> static void put(std::ostream& out, T value) {
  out.write(reinterpret_cast<const char*>(&value), sizeof(T));
}

static std::vector<at::Tensor> read_tensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  char magic[4];
  if (!in.read(magic, 4) || std::memcmp(magic, "ICT1", 4) != 0)
    throw std::runtime_error(path + " is not a tensor file");
  std::vector<at::Tensor> out(get<uint32_t>(in));
  for (auto& t : out) {
    std::string name(get<uint32_t>(in), '\0');
    in.read(name.data(), static_cast<std::streamsize>(name.size()));
    std::vector<int64_t> sizes(get<uint32_t>(in));
    for (auto& s : sizes) s = get<int64_t>(in);
    const auto nbytes = get<uint64_t>(in);
    t = at::empty(sizes, at::TensorOptions().dtype(dtype_of(name)));
    if (t.nbytes() != nbytes) throw std::runtime_error("tensor size does not match its shape");
    if (nbytes && !in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(nbytes)))
      throw std::runtime_error("truncated tensor file");
  }
  return out;
}

static void write_tensors(const std::string& path, const std::vector<at::Tensor>& tensors) {
  std::ofstream out(path, std::ios::binary);
  out.write("ICT1", 4);
  put<uint32_t>(out, static_cast<uint32_t>(tensors.size()));
  for (const auto& raw : tensors) {
    const at::Tensor t = raw.cpu().contiguous();
    const std::string name = name_of(t.scalar_type());
    put<uint32_t>(out, static_cast<uint32_t>(name.size()));
    out.write(name.data(), static_cast<std::streamsize>(name.size()));
    put<uint32_t>(out, static_cast<uint32_t>(t.dim()));
    for (const auto s : t.sizes()) put<int64_t>(out, s);
    put<uint64_t>(out, static_cast<uint64_t>(t.nbytes()));
    out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
  }
  if (!out) throw std::runtime_error("cannot write " + path);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: " << argv[0] << " MODEL.pt2 INPUTS.bin OUTPUTS.bin [REPEAT]\n";
    return 64;
  }
  try {
    const int repeat = argc > 4 ? std::atoi(argv[4]) : 0;
    std::vector<at::Tensor> inputs = read_tensors(argv[2]);
    torch::inductor::AOTIModelPackageLoader loader(argv[1]);
    // A package compiled for CUDA takes its inputs on the GPU; files always hold CPU tensors.
    const auto metadata = loader.get_metadata();
    const auto device = metadata.find("AOTI_DEVICE_KEY");
    if (device != metadata.end() && device->second != "cpu") {
      for (auto& t : inputs) t = t.to(c10::Device(device->second));
    }
    std::vector<at::Tensor> outputs = loader.run(inputs);

    if (repeat > 0) {
      std::vector<double> ms;
      for (int i = 0; i < repeat; ++i) {
        auto start = std::chrono::steady_clock::now();
        loader.run(inputs);
        ms.push_back(std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - start).count());
      }
      std::sort(ms.begin(), ms.end());
      std::cout << "median_ms=" << ms[ms.size() / 2] << std::endl;
    }
    write_tensors(argv[3], outputs);
  } catch (const std::exception& e) {
    std::cerr << "inferencecheck-aoti-runner: " << e.what() << std::endl;
    return 2;
  }
  return 0;
}
