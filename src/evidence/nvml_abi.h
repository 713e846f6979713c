/* The part of NVIDIA's NVML C API (nvml.h, driver r535 and later) that GPU evidence collection
 * uses, declared here because libnvidia-ml.so.1 ships with the NVIDIA driver (not in Debian
 * main) and is loaded with dlopen() at run time: names, values and layouts as nvml.h defines
 * them ("Confidential Computing" group). Not a public header. */
#ifndef VT_EVIDENCE_NVML_ABI_H
#define VT_EVIDENCE_NVML_ABI_H

typedef int nvmlReturn_t; /* an enum in nvml.h: int-sized */
typedef struct nvmlDevice_st *nvmlDevice_t;

#define NVML_SUCCESS 0

/* nvmlDeviceArchitecture_t values */
#define NVML_DEVICE_ARCH_HOPPER 9
#define NVML_DEVICE_ARCH_BLACKWELL 10

#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 96

#define NVML_CC_SYSTEM_FEATURE_DISABLED 0
#define NVML_CC_SYSTEM_FEATURE_ENABLED 1
#define NVML_CC_SYSTEM_ENVIRONMENT_UNAVAILABLE 0
#define NVML_CC_SYSTEM_ENVIRONMENT_SIM 1
#define NVML_CC_SYSTEM_ENVIRONMENT_PROD 2
#define NVML_CC_SYSTEM_DEVTOOLS_MODE_OFF 0
#define NVML_CC_SYSTEM_DEVTOOLS_MODE_ON 1
#define NVML_CC_ACCEPTING_CLIENT_REQUESTS_FALSE 0
#define NVML_CC_ACCEPTING_CLIENT_REQUESTS_TRUE 1

typedef struct nvmlConfComputeSystemState_st {
    unsigned int environment;
    unsigned int ccFeature;
    unsigned int devToolsMode;
} nvmlConfComputeSystemState_t;

#define NVML_GPU_CERT_CHAIN_SIZE 0x1000
#define NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE 0x1400

typedef struct nvmlConfComputeGpuCertificate_st {
    unsigned int certChainSize;
    unsigned int attestationCertChainSize;
    unsigned char certChain[NVML_GPU_CERT_CHAIN_SIZE];
    unsigned char attestationCertChain[NVML_GPU_ATTESTATION_CERT_CHAIN_SIZE];
} nvmlConfComputeGpuCertificate_t;

#define NVML_CC_GPU_CEC_NONCE_SIZE 0x20
#define NVML_CC_GPU_ATTESTATION_REPORT_SIZE 0x2000
#define NVML_CC_GPU_CEC_ATTESTATION_REPORT_SIZE 0x1000

/* nonce is input (the caller's 32 bytes); the sizes and reports are output. */
typedef struct nvmlConfComputeGpuAttestationReport_st {
    unsigned int isCecAttestationReportPresent;
    unsigned int attestationReportSize;
    unsigned int cecAttestationReportSize;
    unsigned char nonce[NVML_CC_GPU_CEC_NONCE_SIZE];
    unsigned char attestationReport[NVML_CC_GPU_ATTESTATION_REPORT_SIZE];
    unsigned char cecAttestationReport[NVML_CC_GPU_CEC_ATTESTATION_REPORT_SIZE];
} nvmlConfComputeGpuAttestationReport_t;

/* Plain unsigned int and unsigned char arrays: no padding, the sizes nvml.h gives. */
_Static_assert(sizeof(nvmlConfComputeSystemState_t) == 12, "nvml.h layout");
_Static_assert(sizeof(nvmlConfComputeGpuCertificate_t) == 8 + 0x1000 + 0x1400, "nvml.h layout");
_Static_assert(sizeof(nvmlConfComputeGpuAttestationReport_t) == 12 + 0x20 + 0x2000 + 0x1000, "nvml.h layout");

/* The entry points, as in nvml.h (nvmlInit, nvmlDeviceGetCount and nvmlDeviceGetHandleByIndex
 * are macros there for the _v2 symbols, which are what the library exports). */
typedef nvmlReturn_t (*nvmlInit_v2_fn)(void);
typedef nvmlReturn_t (*nvmlShutdown_fn)(void);
typedef const char *(*nvmlErrorString_fn)(nvmlReturn_t result);
typedef nvmlReturn_t (*nvmlDeviceGetCount_v2_fn)(unsigned int *deviceCount);
typedef nvmlReturn_t (*nvmlDeviceGetHandleByIndex_v2_fn)(unsigned int index, nvmlDevice_t *device);
typedef nvmlReturn_t (*nvmlDeviceGetArchitecture_fn)(nvmlDevice_t device, unsigned int *arch);
typedef nvmlReturn_t (*nvmlDeviceGetUUID_fn)(nvmlDevice_t device, char *uuid, unsigned int length);
typedef nvmlReturn_t (*nvmlSystemGetConfComputeState_fn)(nvmlConfComputeSystemState_t *state);
typedef nvmlReturn_t (*nvmlSystemGetConfComputeGpusReadyState_fn)(unsigned int *isAcceptingWork);
typedef nvmlReturn_t (*nvmlDeviceGetConfComputeGpuAttestationReport_fn)(nvmlDevice_t device,
                                                                          nvmlConfComputeGpuAttestationReport_t *r);
typedef nvmlReturn_t (*nvmlDeviceGetConfComputeGpuCertificate_fn)(nvmlDevice_t device,
                                                                    nvmlConfComputeGpuCertificate_t *c);

#endif
