// Ingest of real image formats: geometry in physical space, the phantom round trip
// through DICOM and NIfTI, real DICOM against pydicom's reading, and bad input.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libdeflate.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "datastore/ingest/ingest_pelvis.h"
#include "datastore/ingest/ingest_vcf.h"
#include "datastore/ingest/intensity.h"
#include "datastore/ingest/medical_image.h"
#include "datastore/patch_store.h"
#include "datastore/pelvis_store.h"
#include "datastore/phantom_pelvis.h"
#include "datastore/phantom_vcf.h"
#include "datastore/png.h"
#include "test_util.h"

namespace fracsweep::datastore::ingest {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// The direction of a standard sagittal DICOM series as ITK reads it: columns
// anterior to posterior (+y), rows head to feet (-z), slices along the normal
// row x column = -x (to the patient's right).
constexpr std::array<double, 9> kSagittalDicom = {0, 0, -1, 1, 0, 0, 0, -1, 0};

// Library chatter off, as the command has it.
const bool kQuiet = (quiet_library_warnings(), true);

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const core::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error was thrown";
  return "";
}

// --- geometry -------------------------------------------------------------

TEST(SagittalVolume, TurnsAnyOrientationToTheSagittalGridKeepingEachVoxelsPlace) {
  TempDir dir;
  // An axial volume in LPS order with one flip, 7 x 6 x 5, anisotropic voxels.
  Geometry g;
  g.size = {7, 6, 5};
  g.spacing = {0.8, 1.1, 3.0};
  g.origin = {-10, 20, 35};
  g.direction = {-1, 0, 0, 0, 1, 0, 0, 0, 1};
  std::vector<float> v(7 * 6 * 5);
  for (size_t n = 0; n < v.size(); ++n) v[n] = static_cast<float>(n);
  write_nifti((dir.path() / "axial.nii.gz").string(), g, v);

  const SagittalVolume s = SagittalVolume::read((dir.path() / "axial.nii.gz").string());
  const Geometry& out = s.geometry();
  // i anterior to posterior (+y), j head to feet (-z), k right to left (+x).
  const std::array<double, 9> want = {0, 0, 1, 1, 0, 0, 0, -1, 0};
  for (int n = 0; n < 9; ++n) EXPECT_NEAR(out.direction[n], want[n], 1e-9) << n;
  EXPECT_EQ(out.size, (std::array<int, 3>{6, 5, 7}));
  EXPECT_NEAR(out.spacing[0], 1.1, 1e-6);
  EXPECT_NEAR(out.spacing[2], 0.8, 1e-6);
  // Every voxel holds the value the file gave the same physical point.
  for (int k = 0; k < 5; ++k)
    for (int j = 0; j < 6; ++j)
      for (int i = 0; i < 7; ++i) {
        const auto p = g.to_physical({double(i), double(j), double(k)});
        const auto c = out.to_index(p);
        const int a = static_cast<int>(std::lround(c[0])), b = static_cast<int>(std::lround(c[1]));
        const int e = static_cast<int>(std::lround(c[2]));
        ASSERT_NEAR(c[0], a, 1e-6);
        EXPECT_EQ(s.at(a, b, e), v[(static_cast<size_t>(k) * 6 + j) * 7 + i]);
      }
}

TEST(SagittalVolume, APatchResamplesInMillimetresAndIsCentredOnItsBox) {
  TempDir dir;
  Geometry g;
  g.size = {40, 40, 3};
  g.spacing = {0.5, 0.5, 4};
  g.direction = kSagittalDicom;
  // Intensity = the anterior-posterior position in mm: a ramp along i.
  std::vector<float> v(40 * 40 * 3);
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < 40; ++j)
      for (int i = 0; i < 40; ++i) v[(static_cast<size_t>(k) * 40 + j) * 40 + i] = 0.5f * i;
  write_nifti((dir.path() / "ramp.nii").string(), g, v);
  const SagittalVolume s = SagittalVolume::read((dir.path() / "ramp.nii").string());
  // 8 pixels over 8 mm centred at i = 19.5 (9.75 mm): pixel c at 9.75 + (c - 3.5) mm.
  const auto p = s.patch(19.5, 19.5, 1, 8.0, 8);
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) EXPECT_NEAR(p[static_cast<size_t>(r) * 8 + c], 9.75 + (c - 3.5), 1e-4);
}

// --- the phantom round trip --------------------------------------------------

struct PhantomVolume {
  Geometry geometry;
  std::vector<float> voxels, labels;
  std::vector<PhantomPatient> patients;
};

// Patient `index` of a small phantom laid into a sagittal volume: slice s of the
// phantom at k = 1 + s (a blank slice on each side), level l's patch at rows
// l * P.. of that slice, each phantom pixel repeated `up` x `up` times on a grid
// `up` times finer. `labels` marks each level's patch with 8 + level.
PhantomVolume phantom_volume(const PhantomPatient& patient, int patch, int slices, int up) {
  const int levels = static_cast<int>(patient.patches.size()) / slices;
  PhantomVolume pv;
  Geometry& g = pv.geometry;
  g.size = {patch * up, levels * patch * up, slices + 2};
  const double mm = 60.0 / patch / up;
  g.spacing = {mm, mm, 3.5};
  g.origin = {12, -40, 80};
  g.direction = kSagittalDicom;
  // k runs to the patient's right in the file; the sagittal grid runs to the left.
  const size_t n = static_cast<size_t>(g.size[0]) * g.size[1] * g.size[2];
  pv.voxels.assign(n, 7.0f);
  pv.labels.assign(n, 0.0f);
  for (const VertebraPatch& vp : patient.patches) {
    const int k = 1 + vp.slice;
    for (int y = 0; y < patch * up; ++y)
      for (int x = 0; x < patch * up; ++x) {
        const size_t at = (static_cast<size_t>(k) * g.size[1] + vp.level * patch * up + y) * g.size[0] + x;
        pv.voxels[at] = vp.pixels[static_cast<size_t>(y / up) * patch + x / up];
        pv.labels[at] = static_cast<float>(8 + vp.level);
      }
  }
  return pv;
}

std::string boxes_csv(const PhantomPatient& p, int patch, int up) {
  std::string csv = "slice,level,x0,y0,x1,y1,label\n";
  for (const VertebraPatch& vp : p.patches) {
    const double side = patch * up;
    csv += core::str_cat(1 + vp.slice, ",", 8 + vp.level, ",-0.5,", vp.level * side - 0.5, ",",
                         side - 0.5, ",", (vp.level + 1) * side - 0.5, ",", vp.label, "\n");
  }
  return csv;
}

// The phantom's slices 0..2 sit at file k = 1..3, which the sagittal grid (k to the
// left) reverses: phantom slice s is ingested slice 2 - s.
void expect_same_patches(const std::string& store_path, const std::vector<PhantomPatient>& patients,
                         int patch, int slices) {
  const PatchStore store = PatchStore::open(store_path);
  const SampleIndex& ix = store.index();
  ASSERT_EQ(ix.num_patients(), patients.size());
  size_t sample = 0;
  for (size_t pi = 0; pi < patients.size(); ++pi) {
    const PhantomPatient& p = patients[pi];
    const int levels = static_cast<int>(p.patches.size()) / slices;
    EXPECT_EQ(ix.patient_ids[pi], p.id);
    EXPECT_EQ(ix.patient_label[pi], p.label);
    for (int s = 0; s < slices; ++s)
      for (int l = 0; l < levels; ++l, ++sample) {
        const VertebraPatch& want = p.patches[static_cast<size_t>((slices - 1 - s) * levels + l)];
        EXPECT_EQ(ix.label[sample], want.label);
        EXPECT_EQ(ix.level[sample], l);
        EXPECT_EQ(ix.slice[sample], s);
        EXPECT_EQ(ix.prev[sample], l > 0 ? static_cast<int>(sample) - 1 : -1);
        EXPECT_EQ(ix.next[sample], l + 1 < levels ? static_cast<int>(sample) + 1 : -1);
        std::vector<uint8_t> got(static_cast<size_t>(patch) * patch);
        store.read_image(sample, got);
        int worst = 0;
        for (size_t n = 0; n < got.size(); ++n)
          worst = std::max(worst, std::abs(int(got[n]) - int(want.pixels[n])));
        EXPECT_LE(worst, 1) << p.id << " slice " << s << " level " << l;
      }
  }
}

class VcfRoundTrip : public ::testing::TestWithParam<std::string> {};

// The phantom written as a DICOM series, as NIfTI with boxes, and as NIfTI with a
// label map in an axial orientation: ingest gives back the phantom's own patches.
TEST_P(VcfRoundTrip, IngestGivesThePhantomsPatches) {
  const std::string form = GetParam();
  TempDir dir;
  VcfPhantomOptions ph;
  ph.benign_patients = 1;
  ph.malignant_patients = 1;
  ph.patch_size = 24;
  ph.seed = 3;
  const int up = form == "dicom" ? 1 : 2;
  std::vector<PhantomPatient> patients;
  std::string manifest = form == "labelmap" ? "patient,label,image,labelmap,fractured_levels\n"
                                            : "patient,label,image,boxes\n";
  for (int i = 0; i < 2; ++i) {
    patients.push_back(synth_vcf_patient(ph, i));
    const PhantomPatient& p = patients.back();
    PhantomVolume pv = phantom_volume(p, ph.patch_size, ph.slices, up);
    const std::string id = p.id;
    if (form == "dicom") {
      write_dicom_series((dir.path() / id).string(), pv.geometry, pv.voxels, "1.2.826.0.1.3680043.2." + std::to_string(i + 1));
      dir.write(id + ".csv", boxes_csv(p, ph.patch_size, up));
      manifest += core::str_cat(id, ",", p.label, ",", id, ",", id, ".csv\n");
    } else if (form == "nifti") {
      write_nifti((dir.path() / (id + ".nii.gz")).string(), pv.geometry, pv.voxels);
      dir.write(id + ".csv", boxes_csv(p, ph.patch_size, up));
      manifest += core::str_cat(id, ",", p.label, ",", id, ".nii.gz,", id, ".csv\n");
    } else {
      // Both as axial files: the grid's axes permuted, the same physical voxels.
      Geometry axial = pv.geometry;
      const auto& s = pv.geometry.size;
      axial.size = {s[2], s[0], s[1]};
      axial.spacing = {pv.geometry.spacing[2], pv.geometry.spacing[0], pv.geometry.spacing[1]};
      const auto& d = pv.geometry.direction;
      axial.direction = {d[2], d[0], d[1], d[5], d[3], d[4], d[8], d[6], d[7]};
      std::vector<float> vox(pv.voxels.size()), lab(pv.labels.size());
      for (int k = 0; k < s[2]; ++k)
        for (int j = 0; j < s[1]; ++j)
          for (int i = 0; i < s[0]; ++i) {
            const size_t from = (static_cast<size_t>(k) * s[1] + j) * s[0] + i;
            const size_t to = (static_cast<size_t>(j) * s[0] + i) * s[2] + k;
            vox[to] = pv.voxels[from];
            lab[to] = pv.labels[from];
          }
      write_nifti((dir.path() / (id + ".nii.gz")).string(), axial, vox);
      write_nifti((dir.path() / (id + "_seg.nii.gz")).string(), axial, lab);
      std::string fractured;
      for (int l = 0; l < static_cast<int>(p.patches.size()) / ph.slices; ++l)
        if (p.patches[static_cast<size_t>(l)].label != 0)
          fractured += (fractured.empty() ? "" : ";") + std::to_string(8 + l);
      manifest += core::str_cat(id, ",", p.label, ",", id, ".nii.gz,", id, "_seg.nii.gz,", fractured, "\n");
    }
  }
  const std::string m = dir.write("manifest.csv", manifest);
  VcfIngestOptions o;
  o.patch_size = ph.patch_size;
  o.margin_mm = 0;
  o.intensity.mode = "none";
  o.threads = 2;
  const auto out = (dir.path() / "out.h5").string();
  const IngestSummary summary = ingest_vcf(m, out, o);
  EXPECT_EQ(summary.patients, 2);
  EXPECT_EQ(summary.skipped, 0);
  expect_same_patches(out, patients, ph.patch_size, ph.slices);
  // The provenance names the files and the settings.
  const std::string source = PatchStore::open(out).info().source;
  EXPECT_HAS(source, "\"margin_mm\":0");
  EXPECT_HAS(source, patients[1].id);
  // The same inputs give the same bytes, whatever the thread count.
  o.threads = 1;
  const auto again = (dir.path() / "again.h5").string();
  ingest_vcf(m, again, o);
  EXPECT_EQ(core::read_file(out), core::read_file(again));
}

INSTANTIATE_TEST_SUITE_P(Forms, VcfRoundTrip, ::testing::Values("dicom", "nifti", "labelmap"));

// --- real DICOM, against pydicom ----------------------------------------------

uint32_t crc32_of(const std::string& path) {
  const std::string bytes = core::read_file(path);
  return libdeflate_crc32(0, bytes.data(), bytes.size());
}

TEST(RealDicom, PydicomsFilesReadWithItsSpacingOrientationAndValues) {
  const std::string data = FRACSWEEP_PYDICOM_DATA;
  if (data.empty() || !fs::exists(fs::path(data) / "CT_small.dcm"))
    GTEST_SKIP() << "pydicom's test files were not found (scripts/setup.sh installs pydicom)";
  const auto ref = nlohmann::json::parse(core::read_file(testing::fixture("ingest/pydicom_reference.json")));
  for (const auto& [name, want] : ref["files"].items()) {
    SCOPED_TRACE(name);
    const std::string path = name == "ct_small_monochrome1.dcm"
                                 ? testing::fixture("ingest/" + name)
                                 : (fs::path(data) / name).string();
    ASSERT_EQ(crc32_of(path), want["crc32"].get<uint32_t>())
        << path << " differs from the file the reference was made from (pydicom " << ref["pydicom"] << ")";
    const Radiograph r = read_radiograph(path);
    ASSERT_EQ(r.height, want["rows"].get<int>());
    ASSERT_EQ(r.width, want["columns"].get<int>());
    EXPECT_NEAR(r.spacing_x, want["spacing"][0].get<double>(), 1e-6);
    EXPECT_NEAR(r.spacing_y, want["spacing"][1].get<double>(), 1e-6);
    const bool mono1 = want["photometric"] == "MONOCHROME1";
    EXPECT_EQ(r.inverted, mono1);
    // MONOCHROME1 comes out with bright and dark swapped: some constant minus the value.
    const double c = mono1 ? r.pixels[0] + want["samples"][0][2].get<double>() : 0;
    const auto expected = [&](double v) { return mono1 ? c - v : v; };
    double sum = 0;
    for (float v : r.pixels) sum += v;
    const double n = static_cast<double>(r.pixels.size());
    EXPECT_NEAR(sum, mono1 ? n * c - want["sum"].get<double>() : want["sum"].get<double>(), 1e-6 * n);
    for (const auto& s : want["samples"]) {
      const int row = s[0], col = s[1];
      EXPECT_EQ(r.pixels[static_cast<size_t>(row) * r.width + col], expected(s[2].get<double>()))
          << "row " << row << " column " << col;
    }
    // The same file as a volume: its position and orientation as pydicom reads them.
    const SagittalVolume v = SagittalVolume::read(path);
    const Geometry& f = v.file_geometry();
    for (int a = 0; a < 3; ++a) {
      EXPECT_NEAR(f.origin[a], want["position"][a].get<double>(), 1e-4);
      EXPECT_NEAR(f.direction[3 * a + 0], want["orientation"][a].get<double>(), 1e-6);
      EXPECT_NEAR(f.direction[3 * a + 1], want["orientation"][3 + a].get<double>(), 1e-6);
    }
  }
}

// A multi-frame file (a series a scanner wrote as one file) is one volume: its frames in
// order, as far apart as the file says, each with the values pydicom reads.
TEST(RealDicom, AMultiFrameFileIsOneVolumeWithItsFramesInOrder) {
  const auto ref = nlohmann::json::parse(
      core::read_file(testing::fixture("ingest/pydicom_reference.json")))["multiframe"];
  const std::string path = testing::fixture("ingest/" + ref["file"].get<std::string>());
  ASSERT_EQ(crc32_of(path), ref["crc32"].get<uint32_t>());
  const SagittalVolume v = SagittalVolume::read(path);
  const Geometry& f = v.file_geometry();
  ASSERT_EQ(f.size, (std::array<int, 3>{64, 64, ref["frames"].get<int>()}));
  EXPECT_NEAR(f.spacing[2], ref["frame_spacing"].get<double>(), 1e-6);
  for (int frame = 0; frame < f.size[2]; ++frame)
    for (const auto& s : ref["samples"][frame]) {
      const int row = s[0], col = s[1];
      const auto at = v.geometry().to_index(f.to_physical({double(col), double(row), double(frame)}));
      const auto index = [&](int a) { return static_cast<int>(std::lround(at[a])); };
      EXPECT_EQ(v.at(index(0), index(1), index(2)), s[2].get<double>())
          << "frame " << frame << " row " << row << " column " << col;
    }
}

// --- bad input ------------------------------------------------------------------

struct SeriesCase {
  TempDir dir;
  PhantomPatient patient;
  std::string manifest;
  VcfIngestOptions options;
  SeriesCase() {
    VcfPhantomOptions ph;
    ph.benign_patients = 1;
    ph.malignant_patients = 0;
    ph.patch_size = 16;
    patient = synth_vcf_patient(ph, 0);
    const PhantomVolume pv = phantom_volume(patient, 16, 3, 1);
    write_dicom_series((dir.path() / "series").string(), pv.geometry, pv.voxels, "1.2.826.0.1.3680043.2.7");
    dir.write("boxes.csv", boxes_csv(patient, 16, 1));
    options.patch_size = 16;
    options.intensity.mode = "none";
    manifest = dir.write("manifest.csv", "patient,label,image,boxes\nP0000,1,series,boxes.csv\n");
  }
  std::string out() const { return (dir.path() / "out.h5").string(); }
  std::string error() { return error_of([&] { ingest_vcf(manifest, out(), options); }); }
};

TEST(IngestVcfErrors, MixedSeriesNeedAChoiceAndAnUnknownChoiceIsNamed) {
  SeriesCase c;
  const PhantomVolume pv = phantom_volume(c.patient, 16, 3, 1);
  write_dicom_series((c.dir.path() / "series").string() + "/b", pv.geometry, pv.voxels, "1.2.826.0.1.3680043.2.8");
  for (const auto& e : fs::directory_iterator(c.dir.path() / "series" / "b"))
    fs::rename(e.path(), c.dir.path() / "series" / ("b_" + e.path().filename().string()));
  const std::string e = c.error();
  EXPECT_HAS(e, "2 DICOM series in one folder");
  EXPECT_HAS(e, "series_uid");
  EXPECT_FALSE(fs::exists(c.out()));
  c.manifest = c.dir.write("manifest.csv",
                           "patient,label,image,series_uid,boxes\nP0000,1,series,1.2.9.9,boxes.csv\n");
  EXPECT_HAS(c.error(), "no series 1.2.9.9");
  c.manifest = c.dir.write(
      "manifest.csv", "patient,label,image,series_uid,boxes\nP0000,1,series,1.2.826.0.1.3680043.2.8,boxes.csv\n");
  EXPECT_EQ(ingest_vcf(c.manifest, c.out(), c.options).patients, 1);
}

TEST(IngestVcfErrors, MissingAndDuplicatedSlicesAreRefusedNamingTheFiles) {
  {
    SeriesCase c;
    // Five slices in the series: drop the middle one.
    fs::remove(c.dir.path() / "series" / "slice_0002.dcm");
    const std::string e = c.error();
    EXPECT_HAS(e, "missing slices between slice_0001.dcm and slice_0003.dcm");
    EXPECT_HAS(e, "1 slice(s) missing");
  }
  // A byte copy of a slice under another name: before its original, or after it.
  for (const std::string copy : {"a_copy.dcm", "slice_0002_copy.dcm"}) {
    SeriesCase c;
    fs::copy_file(c.dir.path() / "series" / "slice_0002.dcm", c.dir.path() / "series" / copy);
    const std::string e = c.error();
    EXPECT_HAS(e, "duplicated slice: ");
    EXPECT_HAS(e, "slice_0002.dcm");
    EXPECT_HAS(e, copy);
    EXPECT_HAS(e, "copies of one image");
  }
}

// A file added to SeriesCase's series (same series UID): slice `k` of its grid (the series
// has k = 0..4; k may be fractional or past the end), numbered `instance`, with a SOP
// Instance UID of its own, and turned by `degrees` about the head-feet axis.
void add_slice(const SeriesCase& c, const std::string& name, double k, int instance,
               double degrees = 0) {
  const PhantomVolume pv = phantom_volume(c.patient, 16, 3, 1);
  Geometry g = pv.geometry;
  g.origin = g.to_physical({0, 0, k});
  g.size[2] = 1;
  // kSagittalDicom's row (+y) and normal (-x) turned about its column (-z), right-handed.
  const double r = degrees * std::acos(-1.0) / 180, cs = std::cos(r), sn = std::sin(r);
  g.direction = {-sn, 0, -cs, cs, 0, -sn, 0, -1, 0};
  const size_t per_slice = static_cast<size_t>(g.size[0]) * g.size[1];
  const fs::path scratch = c.dir.path() / "scratch";
  write_dicom_series(scratch.string(), g, std::span<const float>(pv.voxels).subspan(2 * per_slice, per_slice),
                     "1.2.826.0.1.3680043.2.7", instance, "1.2.826.0.1.3680043.9.9");
  fs::rename(scratch / "slice_0000.dcm", c.dir.path() / "series" / name);
  fs::remove_all(scratch);
}

// A second image of one place (another instance number): GDCM cannot order the series by
// position then, orders it by instance number instead, and the duplicate, read in that
// order, used to be reported as missing slices between two other files.
TEST(IngestVcfErrors, ASecondImageOfOnePlaceIsADuplicateNamingBothFilesNotMissingSlices) {
  SeriesCase c;
  add_slice(c, "slice_0002_again.dcm", 2, 6);
  const std::string e = c.error();
  EXPECT_HAS(e, "duplicated slice: slice_0002.dcm and slice_0002_again.dcm lie at one position");
  EXPECT_HAS(e, "instances 3 and 6");
  EXPECT_EQ(e.find("missing"), std::string::npos) << e;
}

TEST(IngestVcfErrors, TwoFilesWithOneInstanceNumberAreNamedTogether) {
  SeriesCase c;
  // Evenly placed after the last slice, but numbered as the middle one.
  add_slice(c, "extra.dcm", 5, 3);
  const std::string e = c.error();
  EXPECT_HAS(e, "slice_0002.dcm and extra.dcm have one instance number (0020,0013), 3");
}

TEST(IngestVcfErrors, ASliceTiltedAgainstTheOthersIsNamed) {
  SeriesCase c;
  // Where the next slice would be, but turned by 10 degrees.
  add_slice(c, "tilted.dcm", 5, 6, 10);
  const std::string e = c.error();
  EXPECT_HAS(e, "tilted.dcm is tilted against the rest of the series");
  EXPECT_HAS(e, "5 of the 6 files");
  EXPECT_HAS(e, "10.00 degrees apart");
  // Turned by a thousandth of a degree, it is the same orientation written with rounding.
  SeriesCase d;
  add_slice(d, "slice_0005.dcm", 5, 6, 0.001);
  EXPECT_EQ(SagittalVolume::read((d.dir.path() / "series").string()).file_geometry().size[2], 6);
}

// The series steps 3.5 mm, then 4.9 mm: neither its step nor a whole number of them.
TEST(IngestVcfErrors, MixedSpacingIsNamedWhereTheStepChanges) {
  SeriesCase c;
  add_slice(c, "wide_1.dcm", 4 + 1.4, 6);
  add_slice(c, "wide_2.dcm", 4 + 2.8, 7);
  const std::string e = c.error();
  EXPECT_HAS(e, "uneven slice spacing: the step changes at slice_0004.dcm, from 3.5 mm "
                "(slice_0003.dcm to slice_0004.dcm) to 4.9 mm (slice_0004.dcm to wide_1.dcm)");
  // Two steps where one was expected are a missing slice, not a change of spacing.
  SeriesCase d;
  add_slice(d, "slice_0006.dcm", 6, 7);
  EXPECT_HAS(d.error(), "missing slices between slice_0004.dcm and slice_0006.dcm");
}

// The order is the slices' positions, whatever their numbers and names say.
TEST(SagittalVolume, ASeriesNumberedAndNamedAgainstItsPositionsReadsInPositionOrder) {
  SeriesCase c;
  const PhantomVolume pv = phantom_volume(c.patient, 16, 3, 1);
  const fs::path series = c.dir.path() / "series";
  fs::remove_all(series);
  const size_t per_slice = static_cast<size_t>(pv.geometry.size[0]) * pv.geometry.size[1];
  for (int k = 0; k < pv.geometry.size[2]; ++k) {
    Geometry g = pv.geometry;
    g.origin = g.to_physical({0, 0, static_cast<double>(k)});
    g.size[2] = 1;
    // Slice k named and numbered as the (4 - k)th: names and numbers run against positions.
    const fs::path scratch = c.dir.path() / "scratch";
    write_dicom_series(scratch.string(), g,
                       std::span<const float>(pv.voxels).subspan(k * per_slice, per_slice),
                       "1.2.826.0.1.3680043.2.7", 5 - k);
    fs::create_directories(series);
    fs::rename(scratch / "slice_0000.dcm", series / fmt::format("s{}.dcm", 4 - k));
    fs::remove_all(scratch);
  }
  const SagittalVolume v = SagittalVolume::read(series.string());
  const Geometry& f = v.file_geometry();
  ASSERT_EQ(f.size, pv.geometry.size);
  for (int a = 0; a < 3; ++a) EXPECT_NEAR(f.origin[a], pv.geometry.origin[a], 1e-4);
  // Every voxel where the phantom put it (DICOM holds integers).
  const auto& s = f.size;
  for (int k = 0; k < s[2]; ++k)
    for (int j = 0; j < s[1]; ++j)
      for (int i = 0; i < s[0]; ++i) {
        const auto at = v.geometry().to_index(f.to_physical({double(i), double(j), double(k)}));
        const float got = v.at(static_cast<int>(std::lround(at[0])), static_cast<int>(std::lround(at[1])),
                               static_cast<int>(std::lround(at[2])));
        const float want = pv.voxels[(static_cast<size_t>(k) * s[1] + j) * s[0] + i];
        ASSERT_EQ(got, static_cast<float>(std::lround(want))) << "voxel " << i << ", " << j << ", " << k;
      }
}

TEST(IngestVcfErrors, BadAnnotationsNameThePatientTheFileAndTheFix) {
  SeriesCase c;
  c.dir.write("boxes.csv", "slice,level,x0,y0,x1,y1,label\n2,8,-0.5,-0.5,15.5,15.5,0\n2,9,0,0,400,15,0\n");
  std::string e = c.error();
  EXPECT_HAS(e, "P0000");
  EXPECT_HAS(e, "lies outside the image");
  EXPECT_HAS(e, "boxes.csv line 3");
  EXPECT_HAS(e, "--skip-bad");

  c.dir.write("boxes.csv", "slice,level,x0,y0,x1,y1,label\n2,8,5,5,5,9,0\n");
  EXPECT_HAS(c.error(), "is empty");
  c.dir.write("boxes.csv", "slice,level,x0,y0,x1,y1,label\n2,8,1,1,5,9,0\n1,8,1,1,5,9,1\n");
  EXPECT_HAS(c.error(), "a vertebra has one label");
  c.dir.write("boxes.csv", "slice,level,x0,y0,x1,y1\n2,8,1,1,5,9\n");
  EXPECT_HAS(c.error(), "no column 'label'");

  c.manifest = c.dir.write("manifest.csv", "patient,label,image,boxes\nP0000,1,nowhere,boxes.csv\n");
  EXPECT_HAS(c.error(), "no such file or folder");
  c.manifest = c.dir.write("manifest.csv", "patient,label,image,boxes\nP0000,1,series,boxes.csv\nP0000,1,series,boxes.csv\n");
  EXPECT_HAS(c.error(), "listed twice");
  c.manifest = c.dir.write("manifest.csv", "patient,label,image,boxes\nP0000,7,series,boxes.csv\n");
  EXPECT_HAS(c.error(), "label 7 must be");
}

TEST(IngestVcfErrors, ALabelMapNamingAMissingLevelAndTooFewSlicesAreRefused) {
  SeriesCase c;
  const PhantomVolume pv = phantom_volume(c.patient, 16, 3, 1);
  write_nifti((c.dir.path() / "seg.nii.gz").string(), pv.geometry, pv.labels);
  c.manifest = c.dir.write("manifest.csv",
                           "patient,label,image,labelmap,fractured_levels\nP0000,1,series,seg.nii.gz,8;40\n");
  const std::string e = c.error();
  EXPECT_HAS(e, "fractured level 40 is not in");
  c.options.slices = 6;
  c.manifest = c.dir.write("manifest.csv",
                           "patient,label,image,labelmap,fractured_levels\nP0000,1,series,seg.nii.gz,8\n");
  EXPECT_HAS(c.error(), "has 5 sagittal slices; 6 are taken");
  c.options.slices = 3;
  c.manifest = c.dir.write("manifest.csv",
                           "patient,label,image,labelmap,fractured_levels\nP0000,0,series,seg.nii.gz,8\n");
  EXPECT_HAS(c.error(), "has label 0 (no fracture) but fractured_levels 8");
}

TEST(IngestVcfErrors, SkipBadLeavesOutOnlyTheBadCaseAndSaysWhich) {
  SeriesCase c;
  c.manifest = c.dir.write("manifest.csv",
                           "patient,label,image,boxes\nP0000,1,series,boxes.csv\nP0001,1,missing,boxes.csv\n");
  EXPECT_HAS(c.error(), "P0001");
  EXPECT_FALSE(fs::exists(c.out()));
  c.options.skip_bad = true;
  std::vector<std::string> reported;
  const IngestSummary s = ingest_vcf(c.manifest, c.out(), c.options,
                                     [&](int, int, const std::string& id, size_t, const std::string& error) {
                                       if (!error.empty()) reported.push_back(id);
                                     });
  EXPECT_EQ(s.patients, 1);
  EXPECT_EQ(s.skipped, 1);
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_HAS(s.errors[0], "P0001");
  EXPECT_EQ(reported, std::vector<std::string>{"P0001"});
  EXPECT_EQ(PatchStore::open(c.out()).index().num_patients(), 1u);
}

TEST(IngestVcfErrors, AFlatImageAndANonSagittalImageWithBoxesAreRefused) {
  SeriesCase c;
  Geometry g;
  g.size = {16, 16, 5};
  g.direction = kSagittalDicom;
  write_nifti((c.dir.path() / "flat.nii").string(), g, std::vector<float>(16 * 16 * 5, 3.0f));
  c.dir.write("boxes.csv", "slice,level,x0,y0,x1,y1,label\n2,8,1,1,5,9,0\n");
  c.manifest = c.dir.write("manifest.csv", "patient,label,image,boxes\nP0000,1,flat.nii,boxes.csv\n");
  c.options.intensity.mode = "percentile";
  EXPECT_HAS(c.error(), "is flat");
  g.direction = {1, 0, 0, 0, 1, 0, 0, 0, 1};  // axial
  write_nifti((c.dir.path() / "axial.nii").string(), g, std::vector<float>(16 * 16 * 5, 3.0f));
  c.manifest = c.dir.write("manifest.csv", "patient,label,image,boxes\nP0000,1,axial.nii,boxes.csv\n");
  EXPECT_HAS(c.error(), "not a sagittal acquisition");
}

// --- intensity --------------------------------------------------------------------

TEST(Intensity, PercentilesInterpolateLikeNumpyAndMapTo8Bits) {
  std::vector<float> v;
  for (int i = 0; i <= 100; ++i) v.push_back(static_cast<float>(100 - i));
  IntensityOptions o;
  o.low = 2.5;
  o.high = 97.5;
  // numpy.percentile(range(101), [2.5, 97.5]) = [2.5, 97.5].
  const IntensityWindow w = intensity_window(v, o, "ramp");
  EXPECT_DOUBLE_EQ(w.low, 2.5);
  EXPECT_DOUBLE_EQ(w.high, 97.5);
  const auto b = to_bytes(std::vector<float>{0, 2.5, 50, 97.5, 100}, w);
  EXPECT_EQ(b, (std::vector<uint8_t>{0, 0, 128, 255, 255}));
  // numpy.percentile([1, 2, 3, 4], 50) = 2.5.
  o.low = 0;
  o.high = 50;
  EXPECT_DOUBLE_EQ(intensity_window(std::vector<float>{4, 1, 3, 2}, o, "four").high, 2.5);
  o.low = 60;
  EXPECT_HAS(error_of([&] { intensity_window(v, o, "x"); }), "percentiles 60,50");
  o = {};
  EXPECT_HAS(error_of([&] { intensity_window(std::vector<float>{1, NAN}, o, "x"); }), "not a finite");
}

// --- pelvis -----------------------------------------------------------------------

// A phantom's ROI image used as the source radiograph (PNG), with its own
// landmarks and points: ingest must make exactly the view make_pelvis_view makes.
TEST(IngestPelvis, GoesThroughTheSameViewAsTheSynthesiserAndWritesTheLayout) {
  TempDir dir;
  PelvisPhantomOptions ph;
  ph.images = 2;
  ph.fractured = 1;
  ph.height = 64;
  ph.width = 128;
  const auto labels = pelvis_labels(ph);
  std::string manifest = "patient,image,landmarks,points,label\n";
  std::vector<PelvisView> want;
  for (int i = 0; i < 2; ++i) {
    const PelvisPhantom p = synth_pelvis_image(ph, i, labels[static_cast<size_t>(i)]);
    write_png_gray((dir.path() / (p.id + ".png")).string(), p.view.width, p.view.height, p.view.image);
    std::string lm, pts;
    // Shortest round-trip text, so the manifest holds the very same coordinates.
    for (const Point2& q : p.view.landmarks) lm += fmt::format("{} {} ", q.x, q.y);
    for (const Point2& q : p.view.points) pts += fmt::format("{} {};", q.x, q.y);
    manifest += core::str_cat(p.id, ",", p.id, ".png,", lm, ",", pts, ",", p.label, "\n");
    PelvisViewOptions vo;
    vo.height = 64;
    vo.width = 128;
    want.push_back(make_pelvis_view(p.view.image, 64, 128, p.view.landmarks, p.view.points, vo));
  }
  const std::string m = dir.write("manifest.csv", manifest);
  PelvisIngestOptions o;
  o.height = 64;
  o.width = 128;
  o.intensity.mode = "none";
  const auto out = (dir.path() / "pelvis.h5").string();
  EXPECT_EQ(ingest_pelvis(m, out, o).patients, 2);
  const PatchStore store = PatchStore::open(out);
  ASSERT_EQ(store.info().task, Task::kPelvis);
  for (size_t i = 0; i < 2; ++i) {
    const PelvisView got = read_pelvis_view(store, i);
    EXPECT_EQ(got.image, want[i].image);
    EXPECT_EQ(got.flipped, want[i].flipped);
    EXPECT_EQ(got.warp.xy, want[i].warp.xy);
    EXPECT_EQ(got.points.size(), want[i].points.size());
    EXPECT_EQ(store.index().label[i], want[i].points.empty() ? 0 : 1);
  }
}

TEST(IngestPelvis, BadRowsAndImagesAreNamed) {
  TempDir dir;
  std::vector<uint8_t> img(64 * 128, 100);
  write_png_gray((dir.path() / "a.png").string(), 128, 64, img);
  std::string lm;
  for (int k = 0; k < 16; ++k) lm += core::str_cat(10 + 6 * k, " ", 20 + (k % 3) * 5, " ");
  const auto out = (dir.path() / "p.h5").string();
  PelvisIngestOptions o;
  o.height = 64;
  o.width = 128;
  o.intensity.mode = "none";
  const auto ingest_error = [&](const std::string& row) {
    const std::string m = dir.write("m.csv", "patient,image,landmarks,points,label\n" + row + "\n");
    return error_of([&] { ingest_pelvis(m, out, o); });
  };
  EXPECT_HAS(ingest_error("X1,a.png,1 2 3,,0"), "3 landmark coordinates; 32 are needed");
  EXPECT_HAS(ingest_error("X1,a.png," + lm + ",500 10,1"), "fracture point (500, 10) lies outside");
  EXPECT_HAS(ingest_error("X1,a.png," + lm + ",,1"), "label 1 but 0 fracture points");
  EXPECT_HAS(ingest_error("X1,b.png," + lm + ",,0"), "no such file");
  EXPECT_HAS(ingest_error("X1,a.png," + lm + ",1 x,1"), "not a number");
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace fracsweep::datastore::ingest
