// See medical_image.h. Every ITK object is made here and lives in one call or
// in SagittalVolume::Impl; file formats are chosen explicitly (no ITK factory
// registry), and every filter runs on the calling thread, since ingest runs
// patients on threads of its own.
#include "datastore/ingest/medical_image.h"

#include <gdcmScanner.h>
#include <gdcmTag.h>
#include <gdcmTrace.h>
#include <itkExtractImageFilter.h>
#include <itkGDCMImageIO.h>
#include <itkGDCMSeriesFileNames.h>
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkImageSeriesReader.h>
#include <itkImageSeriesWriter.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkMetaDataObject.h>
#include <itkMetaImageIO.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkNiftiImageIO.h>
#include <itkNrrdImageIO.h>
#include <itkOrientImageFilter.h>
#include <itkPNGImageIO.h>
#include <itkResampleImageFilter.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <numbers>
#include <fmt/format.h>

#include "core/error.h"

namespace fracsweep::datastore::ingest {
namespace {

using Image3 = itk::Image<float, 3>;
using Image2 = itk::Image<float, 2>;
namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The reader for a file, by its name, or DICOM when GDCM recognises it.
itk::ImageIOBase::Pointer io_for(const std::string& path, std::string& format) {
  const std::string name = lower(fs::path(path).filename().string());
  if (ends_with(name, ".nii") || ends_with(name, ".nii.gz")) {
    format = "NIfTI";
    return itk::NiftiImageIO::New().GetPointer();
  }
  if (ends_with(name, ".nrrd") || ends_with(name, ".nhdr")) {
    format = "NRRD";
    return itk::NrrdImageIO::New().GetPointer();
  }
  if (ends_with(name, ".mha") || ends_with(name, ".mhd")) {
    format = "MetaImage";
    return itk::MetaImageIO::New().GetPointer();
  }
  if (ends_with(name, ".png")) {
    format = "PNG";
    return itk::PNGImageIO::New().GetPointer();
  }
  auto dicom = itk::GDCMImageIO::New();
  if (dicom->CanReadFile(path.c_str())) {
    format = "DICOM";
    return dicom.GetPointer();
  }
  throw core::ConfigError(core::str_cat(
      path, ": not an image fracsweep reads (DICOM, NIfTI .nii/.nii.gz, NRRD, MetaImage .mha/.mhd, "
            "PNG); convert it or check the path"));
}

// Runs an ITK pipeline step, turning its exceptions into ours.
template <typename F>
auto itk_call(const std::string& path, const char* what, F&& f) {
  try {
    return f();
  } catch (const itk::ExceptionObject& e) {
    throw core::ConfigError(core::str_cat(path, ": cannot ", what, ": ", e.GetDescription()));
  }
}

Geometry geometry_of(const Image3& image) {
  Geometry g;
  const auto region = image.GetLargestPossibleRegion();
  for (unsigned a = 0; a < 3; ++a) {
    g.size[a] = static_cast<int>(region.GetSize()[a]);
    g.spacing[a] = image.GetSpacing()[a];
    g.origin[a] = image.GetOrigin()[a];
    for (unsigned b = 0; b < 3; ++b) g.direction[3 * a + b] = image.GetDirection()[a][b];
  }
  return g;
}

Image3::Pointer image_of(const Geometry& g, std::span<const float> voxels) {
  const size_t n = static_cast<size_t>(g.size[0]) * g.size[1] * g.size[2];
  CHECK_OR_THROW(core::ConfigError, voxels.size() == n, "volume of ", voxels.size(),
                 " voxels for a grid of ", n);
  auto image = Image3::New();
  Image3::SizeType size;
  Image3::SpacingType spacing;
  Image3::PointType origin;
  Image3::DirectionType direction;
  for (unsigned a = 0; a < 3; ++a) {
    size[a] = static_cast<itk::SizeValueType>(g.size[a]);
    spacing[a] = g.spacing[a];
    origin[a] = g.origin[a];
    for (unsigned b = 0; b < 3; ++b) direction[a][b] = g.direction[3 * a + b];
  }
  image->SetRegions(Image3::RegionType(size));
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  image->SetDirection(direction);
  image->Allocate();
  std::copy(voxels.begin(), voxels.end(), image->GetBufferPointer());
  return image;
}

std::string meta_string(const itk::MetaDataDictionary& dict, const std::string& tag) {
  std::string value;
  itk::ExposeMetaData<std::string>(dict, tag, value);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\0')) value.pop_back();
  return value;
}

// Note [Slice order]
// GDCM orders a series by position along the slice normal, but where two files share a
// position it gives that up and orders them by instance number, or by file name: the order
// it returns then says nothing about where the slices lie, and a duplicated slice looks
// like a gap ("missing slices") between two others. So the series is ordered here, from
// every file's header, by its position projected on the normal of the orientation the
// series shares, and checked in that order before anything is read:
//   - a file whose orientation differs from the others' (a slice tilted against them) is
//     no slice of this volume;
//   - two files at one position are a duplicate (a copy of one file, or a second image of
//     one place), named together;
//   - two files with one instance number at two positions come from two exports or
//     acquisitions mixed under one series UID;
//   - the steps between positions must be even: a step that is a multiple of the usual one
//     is missing slices, any other change of step is mixed spacing.
// Each would put anatomy in the wrong place (ITK spaces the slices evenly and takes the
// orientation of the first), so each is refused, naming the files.

// One file of a series, from its header.
struct SliceHeader {
  std::string file;                      // the path
  std::array<double, 3> position{};      // Image Position (Patient) (0020,0032), mm
  std::array<double, 6> orientation{};   // Image Orientation (Patient) (0020,0037): row, column
  std::string instance;                  // Instance Number (0020,0013) as written; may be empty
  std::string sop_uid;                   // SOP Instance UID (0008,0018)
  double along = 0;                      // position on the series' slice normal, mm
};

const gdcm::Tag kPositionTag(0x0020, 0x0032);
const gdcm::Tag kOrientationTag(0x0020, 0x0037);
const gdcm::Tag kInstanceTag(0x0020, 0x0013);
const gdcm::Tag kSopUidTag(0x0008, 0x0018);

// Orientations further apart than this (radians, about 0.06 degrees) are two orientations;
// closer, the difference is rounding in the file.
constexpr double kTiltTolerance = 1e-3;

std::string trimmed(const char* text) {
  std::string s = text != nullptr ? text : "";
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  const size_t first = s.find_first_not_of(' ');
  return first == std::string::npos ? std::string() : s.substr(first);
}

// A DICOM multi-valued decimal string ("1.5\-2\0") into exactly N numbers.
template <size_t N>
bool parse_values(const std::string& text, std::array<double, N>& out) {
  size_t begin = 0;
  for (size_t i = 0; i < N; ++i) {
    const size_t end = i + 1 < N ? text.find('\\', begin) : text.size();
    if (end == std::string::npos) return false;
    const std::string part = text.substr(begin, end - begin);
    char* stop = nullptr;
    out[i] = std::strtod(part.c_str(), &stop);
    if (stop == part.c_str() || trimmed(stop).size() != 0 || !std::isfinite(out[i])) return false;
    begin = end + 1;
  }
  return true;
}

std::string name_in(const std::string& path) { return fs::path(path).filename().string(); }

template <size_t N>
std::string values_text(const std::array<double, N>& v) {
  std::string out;
  for (size_t i = 0; i < N; ++i) out += fmt::format("{}{:g}", i ? "\\" : "", v[i]);
  return out;
}

double angle(const double* a, const double* b) {
  const double dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  const double norms = std::sqrt((a[0] * a[0] + a[1] * a[1] + a[2] * a[2]) *
                                 (b[0] * b[0] + b[1] * b[1] + b[2] * b[2]));
  return std::acos(std::clamp(dot / norms, -1.0, 1.0));
}

// How far two orientations are apart: the larger angle between their rows or their columns.
double tilt(const std::array<double, 6>& a, const std::array<double, 6>& b) {
  return std::max(angle(&a[0], &b[0]), angle(&a[3], &b[3]));
}

std::vector<SliceHeader> read_slice_headers(const std::string& folder,
                                            const std::vector<std::string>& files) {
  gdcm::Scanner scanner;
  for (const gdcm::Tag& t : {kPositionTag, kOrientationTag, kInstanceTag, kSopUidTag})
    scanner.AddTag(t);
  CHECK_OR_THROW(core::ConfigError, scanner.Scan(files), folder,
                 ": cannot read the headers of the DICOM series' files");
  std::vector<SliceHeader> slices;
  for (const std::string& file : files) {
    SliceHeader s;
    s.file = file;
    const std::string ipp = trimmed(scanner.GetValue(file.c_str(), kPositionTag));
    CHECK_OR_THROW(core::ConfigError, parse_values(ipp, s.position), folder, ": ", name_in(file),
                   " has no usable Image Position (Patient) (0020,0032): '", ipp,
                   "'; the series cannot be placed in space");
    const std::string iop = trimmed(scanner.GetValue(file.c_str(), kOrientationTag));
    CHECK_OR_THROW(core::ConfigError, parse_values(iop, s.orientation), folder, ": ",
                   name_in(file), " has no usable Image Orientation (Patient) (0020,0037): '", iop,
                   "'; the series cannot be placed in space");
    s.instance = trimmed(scanner.GetValue(file.c_str(), kInstanceTag));
    s.sop_uid = trimmed(scanner.GetValue(file.c_str(), kSopUidTag));
    slices.push_back(std::move(s));
  }
  return slices;
}

// The orientation most files share; throws naming the first file tilted against it.
std::array<double, 6> shared_orientation(const std::string& folder,
                                         const std::vector<SliceHeader>& slices) {
  size_t shared = 0, most = 0;
  for (size_t a = 0; a < slices.size(); ++a) {
    size_t n = 0;
    for (const SliceHeader& b : slices) n += tilt(slices[a].orientation, b.orientation) <= kTiltTolerance;
    if (n > most) {
      most = n;
      shared = a;
    }
  }
  const std::array<double, 6>& o = slices[shared].orientation;
  for (const SliceHeader& s : slices) {
    const double t = tilt(s.orientation, o);
    CHECK_OR_THROW(core::ConfigError, t <= kTiltTolerance, folder, ": ", name_in(s.file),
                   " is tilted against the rest of the series: its Image Orientation (Patient) "
                   "(0020,0037) is ", values_text(s.orientation), " where ", most, " of the ",
                   slices.size(), " files have ", values_text(o), " (",
                   fmt::format("{:.2f}", t * 180 / std::numbers::pi),
                   " degrees apart); it is no slice of this volume (a localizer or a "
                   "reformatted image?): remove it from the folder");
  }
  return o;
}

// Two files at one position: which kind of duplicate, for the message.
std::string duplicate_kind(const SliceHeader& a, const SliceHeader& b) {
  if (!a.sop_uid.empty() && a.sop_uid == b.sop_uid)
    return fmt::format("copies of one image (SOP Instance UID {})", a.sop_uid);
  if (!a.instance.empty() && !b.instance.empty())
    return a.instance == b.instance
               ? fmt::format("two images with one instance number, {}", a.instance)
               : fmt::format("two images of one place, instances {} and {}", a.instance, b.instance);
  return "two images of one place";
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// The series' files in order along the slice normal, once every check of Note [Slice
// order] has passed; throws core::ConfigError naming the files otherwise.
std::vector<std::string> ordered_slices(const std::string& folder,
                                        const std::vector<std::string>& files) {
  if (files.size() < 2) return files;
  std::vector<SliceHeader> slices = read_slice_headers(folder, files);
  const std::array<double, 6> o = shared_orientation(folder, slices);
  const std::array<double, 3> normal = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5],
                                        o[0] * o[4] - o[1] * o[3]};
  for (SliceHeader& s : slices)
    s.along = s.position[0] * normal[0] + s.position[1] * normal[1] + s.position[2] * normal[2];
  std::sort(slices.begin(), slices.end(), [](const SliceHeader& a, const SliceHeader& b) {
    return a.along != b.along ? a.along < b.along : a.file < b.file;
  });

  std::vector<double> steps;
  for (size_t f = 1; f < slices.size(); ++f) steps.push_back(slices[f].along - slices[f - 1].along);
  // One position: closer than a hundredth of the usual step (rounding in the file).
  std::vector<double> apart;
  for (double s : steps)
    if (s > 1e-4) apart.push_back(s);
  const double same = std::max(1e-4, apart.empty() ? 0.0 : 1e-2 * median(apart));
  for (size_t f = 1; f < slices.size(); ++f) {
    const SliceHeader &a = slices[f - 1], &b = slices[f];
    CHECK_OR_THROW(core::ConfigError, steps[f - 1] > same, folder, ": duplicated slice: ",
                   name_in(a.file), " and ", name_in(b.file), " lie at one position (",
                   fmt::format("{:g}", b.along), " mm along the slice normal), ",
                   duplicate_kind(a, b), "; remove one of them");
  }
  std::map<std::string, const SliceHeader*> by_instance;
  for (const SliceHeader& s : slices) {
    if (s.instance.empty()) continue;
    const auto [it, fresh] = by_instance.emplace(s.instance, &s);
    CHECK_OR_THROW(core::ConfigError, fresh, folder, ": ", name_in(it->second->file), " and ",
                   name_in(s.file), " have one instance number (0020,0013), ", s.instance,
                   ", at two positions (", fmt::format("{:g} and {:g}", it->second->along, s.along),
                   " mm along the slice normal): two exports or acquisitions are mixed under one "
                   "series UID; keep the files of one");
  }

  // Positions closer than 0.01 mm plus 1% are one step (rounding in the file).
  const double usual = median(steps);
  const auto close = [](double a, double b) { return std::abs(a - b) <= 0.01 + 0.01 * b; };
  const auto gap = [&](double step) {  // how many steps `step` spans, 0 if no whole number
    const long m = std::lround(step / usual);
    return m >= 1 && close(step, m * usual) ? m : 0;
  };
  for (size_t f = 0; f < steps.size(); ++f) {
    if (gap(steps[f]) != 0) continue;
    // Name the first place where the step changes; a slow drift changes nowhere at once.
    for (size_t g = 1; g < steps.size(); ++g) {
      if (close(steps[g], steps[g - 1])) continue;
      throw core::ConfigError(fmt::format(
          "{}: uneven slice spacing: the step changes at {}, from {:g} mm ({} to {}) to {:g} mm "
          "({} to {}); a volume has one spacing: export the series with even spacing, or "
          "resample it",
          folder, name_in(slices[g].file), steps[g - 1], name_in(slices[g - 1].file),
          name_in(slices[g].file), steps[g], name_in(slices[g].file), name_in(slices[g + 1].file)));
    }
    throw core::ConfigError(fmt::format(
        "{}: uneven slice spacing: {} to {} is {:g} mm where the series steps {:g} mm; a volume "
        "has one spacing: export the series with even spacing, or resample it",
        folder, name_in(slices[f].file), name_in(slices[f + 1].file), steps[f], usual));
  }
  for (size_t f = 0; f < steps.size(); ++f)
    CHECK_OR_THROW(core::ConfigError, gap(steps[f]) == 1, folder, ": missing slices between ",
                   name_in(slices[f].file), " and ", name_in(slices[f + 1].file), " (a step of ",
                   fmt::format("{:g}", steps[f]), " mm where the series steps ",
                   fmt::format("{:g}", usual), " mm: ", gap(steps[f]) - 1,
                   " slice(s) missing); export the whole series");
  std::vector<std::string> ordered;
  for (const SliceHeader& s : slices) ordered.push_back(s.file);
  return ordered;
}

Image3::Pointer read_series(const std::string& folder, const std::string& series_uid,
                            std::string& description) {
  auto names = itk::GDCMSeriesFileNames::New();
  names->SetUseSeriesDetails(false);
  names->SetDirectory(folder);
  const std::vector<std::string> uids = itk_call(folder, "list DICOM series", [&] { return names->GetSeriesUIDs(); });
  CHECK_OR_THROW(core::ConfigError, !uids.empty(), folder,
                 ": no DICOM series in this folder; give a folder of .dcm files or a NIfTI file");
  std::string uid = series_uid;
  if (uid.empty()) {
    std::string list;
    for (const auto& u : uids) list += (list.empty() ? "" : ", ") + u;
    CHECK_OR_THROW(core::ConfigError, uids.size() == 1, folder, ": ", uids.size(),
                   " DICOM series in one folder (", list,
                   "); name the one to use in the manifest's series_uid column");
    uid = uids.front();
  } else {
    CHECK_OR_THROW(core::ConfigError, std::find(uids.begin(), uids.end(), uid) != uids.end(),
                   folder, ": no series ", uid, " here (found ", uids.size(), ": ", uids.front(),
                   uids.size() > 1 ? ", ..." : "", ")");
  }
  // GDCM's order is not trusted: see Note [Slice order].
  const std::vector<std::string> files = ordered_slices(folder, names->GetFileNames(uid));
  auto reader = itk::ImageSeriesReader<Image3>::New();
  reader->SetImageIO(itk::GDCMImageIO::New());
  reader->SetFileNames(files);
  itk_call(folder, "read the DICOM series", [&] { reader->Update(); return 0; });
  Image3::Pointer image = reader->GetOutput();
  description = fmt::format("DICOM series {} ({} files)", uid, files.size());
  return image;
}

Image3::Pointer read_any(const std::string& path, const std::string& series_uid,
                         std::string& description) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return read_series(path, series_uid, description);
  CHECK_OR_THROW(core::ConfigError, fs::is_regular_file(path, ec), path,
                 ": no such file or folder; check the manifest's path (relative paths are read "
                 "from the manifest's folder)");
  std::string format;
  auto io = io_for(path, format);
  auto reader = itk::ImageFileReader<Image3>::New();
  reader->SetImageIO(io);
  reader->SetFileName(path);
  itk_call(path, "read the image", [&] { reader->Update(); return 0; });
  CHECK_OR_THROW(core::ConfigError, io->GetNumberOfComponents() == 1, path, ": ",
                 io->GetNumberOfComponents(), " components per voxel; a grey-level image is needed");
  description = format;
  return reader->GetOutput();
}

Image3::Pointer to_sagittal(Image3::Pointer image, const std::string& path) {
  auto orient = itk::OrientImageFilter<Image3, Image3>::New();
  orient->UseImageDirectionOn();
  orient->SetDesiredCoordinateOrientation(
      itk::SpatialOrientation::ITK_COORDINATE_ORIENTATION_ASR);
  orient->SetNumberOfWorkUnits(1);
  orient->SetInput(image);
  itk_call(path, "turn the volume to sagittal", [&] { orient->Update(); return 0; });
  Image3::Pointer out = orient->GetOutput();
  out->DisconnectPipeline();
  return out;
}

}  // namespace

std::array<double, 3> Geometry::to_physical(const std::array<double, 3>& index) const {
  std::array<double, 3> p = origin;
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) p[a] += direction[3 * a + b] * spacing[b] * index[b];
  return p;
}

std::array<double, 3> Geometry::to_index(const std::array<double, 3>& physical) const {
  // Direction matrices are orthonormal: the inverse is the transpose.
  std::array<double, 3> index{};
  for (int b = 0; b < 3; ++b) {
    double s = 0;
    for (int a = 0; a < 3; ++a) s += direction[3 * a + b] * (physical[a] - origin[a]);
    index[b] = s / spacing[b];
  }
  return index;
}

struct SagittalVolume::Impl {
  Image3::Pointer image;
  Geometry geometry, file_geometry;
  std::string description, path;
};

SagittalVolume::SagittalVolume(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SagittalVolume::SagittalVolume(SagittalVolume&&) noexcept = default;
SagittalVolume& SagittalVolume::operator=(SagittalVolume&&) noexcept = default;
SagittalVolume::~SagittalVolume() = default;

SagittalVolume SagittalVolume::read(const std::string& path, const std::string& series_uid) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  Image3::Pointer file = read_any(path, series_uid, impl->description);
  impl->file_geometry = geometry_of(*file);
  impl->image = to_sagittal(file, path);
  impl->geometry = geometry_of(*impl->image);
  return SagittalVolume(std::move(impl));
}

SagittalVolume SagittalVolume::read_labels(const std::string& path, const SagittalVolume& grid) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  Image3::Pointer file = read_any(path, "", impl->description);
  impl->file_geometry = geometry_of(*file);
  auto resample = itk::ResampleImageFilter<Image3, Image3>::New();
  resample->SetInput(file);
  resample->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<Image3, double>::New());
  resample->SetReferenceImage(grid.impl_->image);
  resample->UseReferenceImageOn();
  resample->SetDefaultPixelValue(0);
  resample->SetNumberOfWorkUnits(1);
  itk_call(path, "carry the label map onto the image's grid", [&] { resample->Update(); return 0; });
  impl->image = resample->GetOutput();
  impl->image->DisconnectPipeline();
  impl->geometry = geometry_of(*impl->image);
  return SagittalVolume(std::move(impl));
}

const Geometry& SagittalVolume::geometry() const { return impl_->geometry; }
const Geometry& SagittalVolume::file_geometry() const { return impl_->file_geometry; }
const std::string& SagittalVolume::description() const { return impl_->description; }

std::span<const float> SagittalVolume::voxels() const {
  const auto& s = impl_->geometry.size;
  return {impl_->image->GetBufferPointer(), static_cast<size_t>(s[0]) * s[1] * s[2]};
}

float SagittalVolume::at(int i, int j, int k) const {
  const auto& s = impl_->geometry.size;
  return voxels()[(static_cast<size_t>(k) * s[1] + j) * s[0] + i];
}

std::vector<float> SagittalVolume::patch(double ci, double cj, int k, double side_mm,
                                         int size) const {
  const Image3& image = *impl_->image;
  const double step = side_mm / size;
  // Pixel (c, r) of the patch sits at (c + 0.5 - size / 2) * step from the
  // centre along i, and likewise along j: the patch is centred on (ci, cj).
  const double offset = (0.5 - 0.5 * size) * step;
  const auto& g = impl_->geometry;
  std::array<double, 3> corner = g.to_physical({ci, cj, static_cast<double>(k)});
  for (int a = 0; a < 3; ++a)
    corner[a] += (g.direction[3 * a + 0] + g.direction[3 * a + 1]) * offset;

  auto resample = itk::ResampleImageFilter<Image3, Image3>::New();
  resample->SetInput(impl_->image);
  resample->SetInterpolator(itk::LinearInterpolateImageFunction<Image3, double>::New());
  Image3::SizeType out_size;
  out_size[0] = out_size[1] = static_cast<itk::SizeValueType>(size);
  out_size[2] = 1;
  Image3::SpacingType spacing;
  spacing[0] = spacing[1] = step;
  spacing[2] = image.GetSpacing()[2];
  Image3::PointType origin;
  for (unsigned a = 0; a < 3; ++a) origin[a] = corner[a];
  resample->SetSize(out_size);
  resample->SetOutputSpacing(spacing);
  resample->SetOutputOrigin(origin);
  resample->SetOutputDirection(image.GetDirection());
  resample->SetDefaultPixelValue(0);
  resample->SetNumberOfWorkUnits(1);
  itk_call(impl_->path, "resample a patch", [&] { resample->Update(); return 0; });
  const float* p = resample->GetOutput()->GetBufferPointer();
  return std::vector<float>(p, p + static_cast<size_t>(size) * size);
}

Radiograph read_radiograph(const std::string& path) {
  std::error_code ec;
  CHECK_OR_THROW(core::ConfigError, fs::is_regular_file(path, ec), path,
                 ": no such file; check the manifest's path (relative paths are read from the "
                 "manifest's folder)");
  std::string format;
  auto io = io_for(path, format);
  itk_call(path, "read the image header", [&] {
    io->SetFileName(path);
    io->ReadImageInformation();
    return 0;
  });
  CHECK_OR_THROW(core::ConfigError, io->GetNumberOfComponents() == 1, path, ": ",
                 io->GetNumberOfComponents(),
                 " components per pixel (colour?); a grey-level radiograph is needed");
  for (unsigned a = 2; a < io->GetNumberOfDimensions(); ++a)
    CHECK_OR_THROW(core::ConfigError, io->GetDimensions(a) == 1, path, ": a volume of ",
                   io->GetDimensions(a), " frames or slices; a single radiograph is needed");
  auto reader = itk::ImageFileReader<Image2>::New();
  reader->SetImageIO(io);
  reader->SetFileName(path);
  itk_call(path, "read the image", [&] { reader->Update(); return 0; });
  const Image2& image = *reader->GetOutput();
  Radiograph r;
  r.width = static_cast<int>(image.GetLargestPossibleRegion().GetSize()[0]);
  r.height = static_cast<int>(image.GetLargestPossibleRegion().GetSize()[1]);
  const float* p = image.GetBufferPointer();
  r.pixels.assign(p, p + static_cast<size_t>(r.width) * r.height);
  r.description = format;
  if (format == "DICOM") {
    const auto& dict = io->GetMetaDataDictionary();
    const bool has_spacing = !meta_string(dict, "0028|0030").empty() ||
                             !meta_string(dict, "0018|1164").empty();
    if (has_spacing) {
      r.spacing_x = image.GetSpacing()[0];
      r.spacing_y = image.GetSpacing()[1];
    }
    const std::string modality = meta_string(dict, "0008|0060");
    const std::string bits = meta_string(dict, "0028|0101");
    r.description = fmt::format("DICOM {}{}", modality.empty() ? "image" : modality,
                                bits.empty() ? "" : ", " + bits + "-bit");
    // GDCM turns MONOCHROME1 (high = dark) into MONOCHROME2 as it reads, by
    // subtracting from a constant: bone is bright, as the model and the phantoms
    // expect. The constant does not matter after intensity normalisation.
    if (meta_string(dict, "0028|0004") == "MONOCHROME1") {
      r.inverted = true;
      r.description += ", MONOCHROME1 inverted";
    }
  }
  return r;
}

void quiet_library_warnings() {
  itk::Object::GlobalWarningDisplayOff();
  gdcm::Trace::WarningOff();
  gdcm::Trace::ErrorOff();
}

void write_nifti(const std::string& path, const Geometry& geometry, std::span<const float> volume) {
  auto writer = itk::ImageFileWriter<Image3>::New();
  writer->SetImageIO(itk::NiftiImageIO::New());
  writer->SetFileName(path);
  writer->SetInput(image_of(geometry, volume));
  try {
    writer->Update();
  } catch (const itk::ExceptionObject& e) {
    throw core::IoError(core::str_cat(path, ": cannot write NIfTI: ", e.GetDescription()));
  }
}

void write_dicom_series(const std::string& folder, const Geometry& g, std::span<const float> volume,
                        const std::string& series_uid, int first_instance,
                        const std::string& instance_uid_root) {
  const std::string& uid_root = instance_uid_root.empty() ? series_uid : instance_uid_root;
  using Image3S = itk::Image<int16_t, 3>;
  using Image2S = itk::Image<int16_t, 2>;
  Image3::Pointer floats = image_of(g, volume);
  auto image = Image3S::New();
  image->CopyInformation(floats);
  image->SetRegions(floats->GetLargestPossibleRegion());
  image->Allocate();
  for (size_t n = 0; n < volume.size(); ++n)
    image->GetBufferPointer()[n] = static_cast<int16_t>(std::lround(volume[n]));

  fs::create_directories(folder);
  std::vector<std::string> names;
  std::vector<std::unique_ptr<itk::MetaDataDictionary>> owned;
  itk::ImageSeriesWriter<Image3S, Image2S>::DictionaryArrayType dicts;
  const auto& d = g.direction;
  const std::string iop = fmt::format("{:.6f}\\{:.6f}\\{:.6f}\\{:.6f}\\{:.6f}\\{:.6f}", d[0], d[3],
                                      d[6], d[1], d[4], d[7]);
  for (int k = 0; k < g.size[2]; ++k) {
    names.push_back(fmt::format("{}/slice_{:04d}.dcm", folder, k));
    auto dict = std::make_unique<itk::MetaDataDictionary>();
    const auto p = g.to_physical({0, 0, static_cast<double>(k)});
    itk::EncapsulateMetaData<std::string>(*dict, "0008|0060", "MR");
    itk::EncapsulateMetaData<std::string>(*dict, "0028|0004", "MONOCHROME2");
    itk::EncapsulateMetaData<std::string>(*dict, "0008|0016", "1.2.840.10008.5.1.4.1.1.4");
    itk::EncapsulateMetaData<std::string>(*dict, "0008|0018",
                                          fmt::format("{}.{}", uid_root, first_instance + k));
    itk::EncapsulateMetaData<std::string>(*dict, "0020|000d", series_uid + ".0");
    itk::EncapsulateMetaData<std::string>(*dict, "0020|000e", series_uid);
    itk::EncapsulateMetaData<std::string>(*dict, "0020|0013", std::to_string(first_instance + k));
    itk::EncapsulateMetaData<std::string>(*dict, "0020|0032",
                                          fmt::format("{:.6f}\\{:.6f}\\{:.6f}", p[0], p[1], p[2]));
    itk::EncapsulateMetaData<std::string>(*dict, "0020|0037", iop);
    itk::EncapsulateMetaData<std::string>(*dict, "0028|0030",
                                          fmt::format("{:.6f}\\{:.6f}", g.spacing[1], g.spacing[0]));
    itk::EncapsulateMetaData<std::string>(*dict, "0018|0050", fmt::format("{:.6f}", g.spacing[2]));
    itk::EncapsulateMetaData<std::string>(*dict, "0018|0088", fmt::format("{:.6f}", g.spacing[2]));
    dicts.push_back(dict.get());
    owned.push_back(std::move(dict));
  }
  auto io = itk::GDCMImageIO::New();
  io->KeepOriginalUIDOn();
  auto writer = itk::ImageSeriesWriter<Image3S, Image2S>::New();
  writer->SetInput(image);
  writer->SetImageIO(io);
  writer->SetFileNames(names);
  writer->SetMetaDataDictionaryArray(&dicts);
  try {
    writer->Update();
  } catch (const itk::ExceptionObject& e) {
    throw core::IoError(core::str_cat(folder, ": cannot write the DICOM series: ", e.GetDescription()));
  }
}

}  // namespace fracsweep::datastore::ingest
