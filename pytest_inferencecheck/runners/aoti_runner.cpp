// pytest-inferencecheck's AOTInductor runner: loads a .pt2 package and runs it with no Python.
//
//   inferencecheck-aoti-runner MODEL.pt2 INPUTS.pt OUTPUTS.pt [REPEAT]
//
// INPUTS.pt holds a torch.save()d list of tensors (the model's flattened inputs); OUTPUTS.pt
// receives a torch::pickle_save()d tuple of output tensors that torch.load() reads back.
// With REPEAT > 0 the model is also run REPEAT more times and the median latency in
// milliseconds is printed on stdout as `median_ms=<value>`.
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/serialize.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

static std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

static std::vector<at::Tensor> to_tensors(const c10::IValue& value) {
  std::vector<at::Tensor> out;
  if (value.isTensorList()) {
    for (const auto& t : value.toTensorVector()) out.push_back(t);
  } else if (value.isList()) {
    for (const auto& v : value.toListRef()) out.push_back(v.toTensor());
  } else if (value.isTuple()) {
    for (const auto& v : value.toTupleRef().elements()) out.push_back(v.toTensor());
  } else {
    throw std::runtime_error("inputs file must hold a list or tuple of tensors");
  }
  return out;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: " << argv[0] << " MODEL.pt2 INPUTS.pt OUTPUTS.pt [REPEAT]\n";
    return 64;
  }
  try {
    const int repeat = argc > 4 ? std::atoi(argv[4]) : 0;
    std::vector<at::Tensor> inputs = to_tensors(torch::pickle_load(read_file(argv[2])));
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

    std::vector<c10::IValue> elements;
    for (const auto& t : outputs) elements.emplace_back(t.cpu());
    std::vector<char> bytes = torch::pickle_save(c10::ivalue::Tuple::create(std::move(elements)));
    std::ofstream out(argv[3], std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error(std::string("cannot write ") + argv[3]);
  } catch (const std::exception& e) {
    std::cerr << "inferencecheck-aoti-runner: " << e.what() << std::endl;
    return 2;
  }
  return 0;
}
