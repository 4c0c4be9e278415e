/*
 * Prints, from the real Xen 4.17 headers, what the Java binding of libxl relies on:
 *   probe layout  ->  "size <struct> <n>" and "offset <struct> <field> <n>" lines
 *   probe json    ->  libxl_domain_config_to_json of a small PVH guest built here
 *   probe restore-defaults -> stream_version/checkpointed_stream after _init
 * Compiled and run by LibxlStructLayoutTest; no Xen hypervisor is needed.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxl.h>
#include <libxl_event.h>

#define SIZE(T) printf("size %s %zu\n", #T, sizeof(T))
#define OFF(T, F) printf("offset %s %s %zu\n", #T, #F, offsetof(T, F))

static int layout(void)
{
    SIZE(libxl_dominfo);
    OFF(libxl_dominfo, uuid);
    OFF(libxl_dominfo, domid);
    OFF(libxl_dominfo, ssidref);
    OFF(libxl_dominfo, ssid_label);
    OFF(libxl_dominfo, running);
    OFF(libxl_dominfo, blocked);
    OFF(libxl_dominfo, paused);
    OFF(libxl_dominfo, shutdown);
    OFF(libxl_dominfo, dying);
    OFF(libxl_dominfo, never_stop);
    OFF(libxl_dominfo, shutdown_reason);
    OFF(libxl_dominfo, outstanding_memkb);
    OFF(libxl_dominfo, current_memkb);
    OFF(libxl_dominfo, shared_memkb);
    OFF(libxl_dominfo, paged_memkb);
    OFF(libxl_dominfo, max_memkb);
    OFF(libxl_dominfo, cpu_time);
    OFF(libxl_dominfo, vcpu_max_id);
    OFF(libxl_dominfo, vcpu_online);
    OFF(libxl_dominfo, cpupool);
    OFF(libxl_dominfo, gpaddr_bits);
    OFF(libxl_dominfo, domain_type);

    SIZE(libxl_physinfo);
    OFF(libxl_physinfo, threads_per_core);
    OFF(libxl_physinfo, cores_per_socket);
    OFF(libxl_physinfo, max_cpu_id);
    OFF(libxl_physinfo, nr_cpus);
    OFF(libxl_physinfo, cpu_khz);
    OFF(libxl_physinfo, total_pages);
    OFF(libxl_physinfo, free_pages);
    OFF(libxl_physinfo, scrub_pages);
    OFF(libxl_physinfo, outstanding_pages);
    OFF(libxl_physinfo, sharing_freed_pages);
    OFF(libxl_physinfo, sharing_used_frames);
    OFF(libxl_physinfo, max_possible_mfn);
    OFF(libxl_physinfo, nr_nodes);
    OFF(libxl_physinfo, hw_cap);
    OFF(libxl_physinfo, cap_hvm);
    OFF(libxl_physinfo, cap_pv);
    OFF(libxl_physinfo, cap_hvm_directio);
    OFF(libxl_physinfo, cap_hap);
    OFF(libxl_physinfo, cap_shadow);
    OFF(libxl_physinfo, cap_iommu_hap_pt_share);
    OFF(libxl_physinfo, cap_vmtrace);
    OFF(libxl_physinfo, cap_vpmu);
    OFF(libxl_physinfo, cap_gnttab_v1);
    OFF(libxl_physinfo, cap_gnttab_v2);

    SIZE(libxl_domain_restore_params);
    OFF(libxl_domain_restore_params, checkpointed_stream);
    OFF(libxl_domain_restore_params, stream_version);
    OFF(libxl_domain_restore_params, colo_proxy_script);
    OFF(libxl_domain_restore_params, userspace_colo_proxy.val);

    SIZE(libxl_childproc_hooks);
    OFF(libxl_childproc_hooks, chldowner);
    OFF(libxl_childproc_hooks, fork_replacement);
    OFF(libxl_childproc_hooks, reaped_callback);

    SIZE(libxl_domain_config);
    OFF(libxl_domain_config, c_info);

    /* values the binding hard-codes */
    printf("const LIBXL_VERSION %d\n", LIBXL_VERSION);
    printf("const LIBXL_SUSPEND_LIVE %d\n", LIBXL_SUSPEND_LIVE);
    printf("const SIGCHLD_OWNER_LIBXL_ALWAYS_SELECTIVE_REAP %d\n",
           (int)libxl_sigchld_owner_libxl_always_selective_reap);
    printf("const LIBXL_CHECKPOINTED_STREAM_NONE %d\n", (int)LIBXL_CHECKPOINTED_STREAM_NONE);
    printf("const LIBXL_SHUTDOWN_REASON_SUSPEND %d\n", (int)LIBXL_SHUTDOWN_REASON_SUSPEND);
    printf("const INVALID_DOMID %d\n", (int)INVALID_DOMID);
    printf("const XTL_DEBUG %d\n", (int)XTL_DEBUG);
    printf("const XTL_PROGRESS %d\n", (int)XTL_PROGRESS);
    printf("const XTL_INFO %d\n", (int)XTL_INFO);
    printf("const XTL_STDIOSTREAM_PROGRESS_NO_CR %d\n", (int)XTL_STDIOSTREAM_PROGRESS_NO_CR);
    return 0;
}

/* The JSON libxl itself writes for a PVH guest (to_json needs no hypervisor). */
static int json(void)
{
    libxl_domain_config c;
    char *s;

    libxl_domain_config_init(&c);
    c.c_info.type = LIBXL_DOMAIN_TYPE_PVH;
    c.c_info.name = strdup("probe-pvh");
    if (libxl_uuid_from_string(&c.c_info.uuid, "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"))
        return 2;
    libxl_domain_build_info_init_type(&c.b_info, LIBXL_DOMAIN_TYPE_PVH);
    c.b_info.max_vcpus = 3;
    c.b_info.max_memkb = 786432;
    c.b_info.target_memkb = 786432;
    c.b_info.kernel = strdup("/var/lib/xen/boot/vmlinuz-pvh");
    c.b_info.cmdline = strdup("root=/dev/xvda1 console=hvc0");
    s = libxl_domain_config_to_json(NULL, &c);
    if (!s)
        return 3;
    fputs(s, stdout);
    free(s);
    libxl_domain_config_dispose(&c);
    return 0;
}

static int restore_defaults(void)
{
    libxl_domain_restore_params p;
    libxl_domain_restore_params_init(&p);
    printf("stream_version %u\n", p.stream_version);
    printf("checkpointed_stream %d\n", p.checkpointed_stream);
    libxl_domain_restore_params_dispose(&p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "layout"))
        return layout();
    if (argc == 2 && !strcmp(argv[1], "json"))
        return json();
    if (argc == 2 && !strcmp(argv[1], "restore-defaults"))
        return restore_defaults();
    fprintf(stderr, "usage: %s layout|json|restore-defaults\n", argv[0]);
    return 1;
}
